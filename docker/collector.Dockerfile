# The wsgiscope collector, built from this repository (context: the repo root).
FROM node:20.20.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/protocol packages/protocol
COPY packages/dashboards/package.json packages/dashboards/package.json
COPY collector collector
RUN npm ci --no-audit --no-fund \
 && npx tsc -b packages/protocol collector \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20.0-bookworm-slim
WORKDIR /app
COPY --from=build /src /app
USER node
EXPOSE 9464
ENTRYPOINT ["node", "collector/dist/cli.js"]
CMD ["--host", "0.0.0.0", "--port", "9464"]
