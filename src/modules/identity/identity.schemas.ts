import { z } from 'zod';

export const SignInCallbackQuery = z.union([
  z.object({ code: z.string().min(1).max(4096), state: z.string().min(1).max(200) }),
  z.object({ error: z.string().max(200), error_description: z.string().max(1000).optional(), state: z.string().max(200).optional() }),
]);
