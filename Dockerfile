# Parley: runs the TypeScript sources directly with tsx.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY commands ./commands
COPY personas ./personas
COPY bin ./bin
COPY tsconfig.json ./
USER node
# With no platform token set the bot would chat on stdin; in a container set
# TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN.
CMD ["node", "--import", "tsx", "src/main.ts"]
