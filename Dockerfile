# ---- build: compile src/, migrations/ and seeds/ into dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY seeds ./seeds
RUN npm run build

# ---- runtime: production dependencies and the compiled service only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The service reads openapi.yaml at runtime (served at /openapi.yaml, rendered at /docs); it looks
# for it in the folders above its own code, so the app root is enough.
COPY openapi.yaml ./openapi.yaml
# DATA_DIR (.data) must be writable if development keys are ever generated (e.g. the simulator
# enabled without VNEID_SIMULATOR_PRIVATE_KEY); production normally passes keys in the environment.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# Slim images have no curl: ask node's built-in fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
