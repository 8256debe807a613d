# Gatewarden image: build the TypeScript, keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4318 GATEWARDEN_DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# the web console's files (plain ES modules and CSS, served at /)
COPY --from=build /app/console ./console
COPY --from=build /app/package.json ./
# the embedded store's directory (GATEWARDEN_DATA_DIR), writable by the user the process runs as
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 4318
USER node
ENTRYPOINT ["node", "dist/services/cli.js"]
CMD ["start"]
