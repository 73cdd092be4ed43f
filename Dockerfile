# The llm-config CLI image: agent (sidecar) and webhook. Multi-stage: production
# dependencies only, sources run directly by Node 24 (type stripping) with a compile
# cache warmed at build time, non-root numeric user, read-only root filesystem, no
# shell needed at run time (exec-form entrypoint).
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY agent ./agent
COPY init ./init
COPY webhook ./webhook
# Warm Node's compile cache: every module of each command is loaded by its --help.
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN node bin/llm-config.js agent --help >/dev/null \
 && node bin/llm-config.js webhook --help >/dev/null \
 && node bin/llm-config.js init --help >/dev/null \
 && node bin/llm-config.js inject --help >/dev/null

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
COPY --from=build --chown=0:0 /app /app
USER 65532:65532
EXPOSE 8080 9102 8443
# --max-semi-space-size=1: a 1 MiB young generation keeps the sidecar's RSS down (docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/bin/llm-config.js"]
CMD ["agent", "--help"]
