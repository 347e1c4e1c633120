# syntax=docker/dockerfile:1
# gpu-admission webhook image: Node 24, production dependencies only, non-root, and friendly to a
# read-only root filesystem (nothing is written at run time; certificates come from a Secret).
# CI cannot run a Docker engine here, so .ci/docker-steps runs these same steps as commands.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/validators.ts ./scripts/
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# glibc returns freed blocks of 32 KiB and more (V8's compile memory) to the system rather than
# keeping them in its arenas: 15-20 MiB less resident under load (docs/benchmarks.md, #23).
ENV MALLOC_MMAP_THRESHOLD_=32768
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER 65532:65532
EXPOSE 8443
# --no-maglev: V8 tiers the hot path from Sparkplug straight to TurboFan, without Maglev's code and
# compile memory in between: about 4 MiB less resident under load, the same CPU per review
# (docs/benchmarks.md, #23). A V8 flag NODE_OPTIONS refuses, so it is here; the benchmarks, the e2e
# suite and .ci/docker-steps read it from this line (bench/shipped.ts).
ENTRYPOINT ["node", "--no-maglev", "dist/main.js"]
