# One image for the five apps (and the migrate / ensure-topics / CLI commands); the service is chosen
# by the command, e.g.
#   docker run odis-webhooks node dist/apps/dispatcher/src/main.js
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, installed from the lockfile (no dev tools in the image).
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Non-root (uid 1000, the k8s securityContext's); the app writes nothing outside /tmp, so the root
# filesystem can be read-only.
USER node
EXPOSE 3000
# /health says the process runs; readiness (/ready) is for load balancers and Kubernetes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/subscription-api/src/main.js"]
