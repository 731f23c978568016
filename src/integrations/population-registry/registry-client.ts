import { z } from 'zod';
import { type PopulationRegistry, type RegisteredRelative, RegistryUnavailableError } from './population-registry';

/**
 * HTTP client of the registry's relation lookup:
 * `GET {baseUrl}/v1/citizens/{personal_id}/relations` with `X-Api-Key`; 200 with the citizen and
 * their relations, or 404 when the registry has no such citizen. The answer is validated with zod;
 * anything else (timeouts, 5xx, a malformed body) is "unavailable", never "no relatives".
 */
const RelationsReply = z.object({
  citizen: z.object({ personal_id: z.string().regex(/^\d{12}$/) }),
  relations: z.array(
    z.object({
      relation: z.enum(['father', 'mother', 'legal_guardian']),
      personal_id: z.string().regex(/^\d{12}$/),
      full_name: z.string().min(1).max(200),
      date_of_birth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      gender: z.enum(['male', 'female']),
    }),
  ),
});

export function createRegistryClient(settings: { baseUrl: string; apiKey: string; timeoutMs?: number }): PopulationRegistry {
  return {
    async findRelatives(childPersonalId: string): Promise<RegisteredRelative[] | null> {
      let response: Response;
      try {
        response = await fetch(`${settings.baseUrl}/v1/citizens/${encodeURIComponent(childPersonalId)}/relations`, {
          headers: { 'x-api-key': settings.apiKey, accept: 'application/json' },
          signal: AbortSignal.timeout(settings.timeoutMs ?? 5000),
        });
      } catch (e) {
        throw new RegistryUnavailableError(`registry unreachable: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (response.status === 404) return null;
      if (response.status !== 200) throw new RegistryUnavailableError(`registry answered ${response.status}`);
      const parsed = RelationsReply.safeParse(await response.json().catch(() => null));
      if (!parsed.success || parsed.data.citizen.personal_id !== childPersonalId) throw new RegistryUnavailableError('registry answered a malformed body');
      return parsed.data.relations.map((r) => ({ relation: r.relation, personalId: r.personal_id, fullName: r.full_name.normalize('NFC'), dateOfBirth: r.date_of_birth, gender: r.gender }));
    },
  };
}
