# syntax=docker/dockerfile:1
# Parley: built to dist/ in one stage, run by node in the next (no compiler,
# no dev dependencies). Compose: see docker-compose.yml and the README.

# node:22-bookworm-slim (Node 22.23.3), pinned by its multi-arch index digest.
# To move on: `docker buildx imagetools inspect node:22-bookworm-slim`.
ARG NODE_IMAGE=node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
RUN npm run build

FROM ${NODE_IMAGE}
WORKDIR /app
# The health server (/healthz, /readyz) listens here; the HEALTHCHECK asks it.
ENV NODE_ENV=production \
    PARLEY_HTTP_PORT=8081
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY personas ./personas
# Embedded models are downloaded here (the default PARLEY_MODELS_DIR for the node user); Compose keeps it on a volume.
RUN mkdir -p /home/node/.cache/parley/models && chown -R node:node /home/node/.cache
USER node
EXPOSE 8081
# The slim image has no curl: node's own fetch asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PARLEY_HTTP_PORT + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is process 1, with no shell or npm between (the base image's
# docker-entrypoint.sh is replaced): SIGTERM reaches the bot, which finishes
# the answers in flight within PARLEY_SHUTDOWN_GRACE_MS. An absolute path, as
# Compose runs it from /app/config. With no TELEGRAM_BOT_TOKEN or
# DISCORD_TOKEN it says so and exits 78.
ENTRYPOINT ["node"]
CMD ["/app/dist/src/main.js"]
