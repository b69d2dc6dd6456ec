# One image for every role of nats-mesh: the command picks the service or gateway, e.g.
#   docker run nats-mesh run services/greeting      docker run nats-mesh gateway gateway-http
# Stage "build" has the dev dependencies (also the image docker-compose.dev.yml runs from source).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY mesh ./mesh
COPY services ./services
COPY gateway-http ./gateway-http
COPY gateway-wamp ./gateway-wamp
COPY frontend ./frontend
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production LOG_FORMAT=json DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY frontend ./dist/frontend
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 5000 8080
ENTRYPOINT ["node", "dist/mesh/cli.js"]
CMD ["--help"]
