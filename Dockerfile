# The one image every chart component runs: ext-proc (the sidecar in the Envoy Gateway proxy pods),
# endpoint-picker (one per InferencePool) and, for the kind suite, the simulated model servers
# (e2e-kind/sim-pod.mjs). Build from the repository root:  docker build -t agent-router .
# test/image/image-contents.test.ts assembles what this file copies, the same way, and runs each command.
#
# Every stage is the Node 24 LTS release the tests run on (package.json devDependencies.node; the test
# holds the two equal). Debian slim rather than distroless: the kind manifests start
# `node e2e-kind/sim-pod.mjs` by name, which needs node on PATH (distroless keeps it in /nodejs/bin,
# GoogleContainerTools/distroless#1773), and distroless tags name no Node release to pin.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY analytics ./analytics
COPY cli ./cli
COPY console ./console
COPY config ./config
COPY dev-gateway ./dev-gateway
COPY endpoint-picker ./endpoint-picker
COPY envoy-config ./envoy-config
COPY ext-proc ./ext-proc
COPY grpc ./grpc
COPY kube ./kube
COPY observability ./observability
COPY protos ./protos
COPY sim ./sim
RUN npm run build
# The console web app (console/web/build.ts: Preact and uPlot bundled by esbuild), served from
# dist/console/web/dist by the compiled console/static.ts.
RUN npm run build:console

# Its own stage so the runtime gets a node_modules that never held a dev dependency (tsx, typescript).
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24.21.0-bookworm-slim
# TMPDIR is the only place anything is written (the chart mounts an emptyDir there), so the root
# filesystem can be read-only.
ENV NODE_ENV=production TMPDIR=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/web/dist ./dist/console/web/dist
COPY package.json ./
# sim-pod.mjs starts `bin/agent-router.mjs sim`; without sources beside it, that entry runs dist/.
COPY bin/agent-router.mjs ./bin/agent-router.mjs
COPY e2e-kind/sim-pod.mjs ./e2e-kind/sim-pod.mjs
# 65532: the user Envoy Gateway's proxy runs as, so the Unix socket the two share needs no wider permissions.
USER 65532:65532
ENTRYPOINT ["node", "dist/cli/main.js"]
