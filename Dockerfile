# The llm-config CLI image: agent (sidecar), webhook, inject, init and relay. Multi-stage:
# production dependencies only, pruned to what the commands can load (bin/image-prune.ts);
# sources run directly by Node 24 (type stripping) with a compile cache warmed at build
# time for the user the image runs as; non-root numeric user, read-only root filesystem,
# no shell needed at run time (exec-form entrypoint).
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The code folders .dockerignore lets through (bin, src, agent, init, webhook, relay).
COPY . ./
RUN node bin/image-prune.ts prune
# Node keys its compile cache by uid and writes entries 0600, so it is warmed as the uid
# the image runs as (65532; the chart's runAsUser), then made world-readable: at run
# time the root filesystem is read-only and the cache is only read. Another uid starts
# cold (slower, never broken). image-prune's warm loads every module of every command,
# lazily imported ones included; `--help` warms the entry files.
RUN install -d -o 65532 -g 65532 /app/.compile-cache
USER 65532:65532
# V8 keys the compile cache by its flags: it is warmed once with the ENTRYPOINT's flags
# (agent, init: what the webhook injects) and once with the chart's webhook and relay
# flags (their Deployments override the command); a run with other V8 flags misses it
# and loads Node's TypeScript stripper (+18 MiB). Heap-size flags are not in the key.
RUN node --max-semi-space-size=1 --no-maglev --invocation-count-for-turbofan=30000 bin/image-prune.ts warm /app/.compile-cache \
 && node --max-semi-space-size=1 bin/image-prune.ts warm /app/.compile-cache \
 && NODE_COMPILE_CACHE=/app/.compile-cache node --max-semi-space-size=1 --no-maglev --invocation-count-for-turbofan=30000 bin/llm-config.js --help >/dev/null \
 && NODE_COMPILE_CACHE=/app/.compile-cache node --max-semi-space-size=1 bin/llm-config.js --help >/dev/null
USER 0:0
RUN rm bin/image-prune.ts && chmod -R a+rX,go-w /app/.compile-cache

FROM node:${NODE_VERSION}-bookworm-slim
# MALLOC_MMAP_THRESHOLD_: glibc serves buffers over 128 KiB with mmap and returns them to
# the kernel when freed, instead of keeping them in its heap (docs/sizing.md: the
# 10,000-key agent after a read burst, 120 → 103–111 MiB).
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/.compile-cache \
    MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build --chown=0:0 /app /app
USER 65532:65532
EXPOSE 8080 9102 8443
# --max-semi-space-size=1: semi-spaces of 1 MiB keep the young generation, and RSS, small.
# --no-maglev --invocation-count-for-turbofan=30000: no optimising compiler runs during
# the start, so none of their code is paged in: the idle agent at 1,000 keys 70.8 →
# 62.9 MiB (docs/sizing.md). The chart's webhook and relay run without these two.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--no-maglev", "--invocation-count-for-turbofan=30000", "/app/bin/llm-config.js"]
CMD ["agent", "--help"]
