# Every target runs the native Foundry binaries through tools/foundry.sh so exit codes survive.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
FORGE := tools/foundry.sh forge
STAMP := node_modules/.install-stamp
# The integrator package's compiled JS and declarations: the keeper (tsx and keeper/dist), the web app and tsc
# resolve @p2p-energy/sdk to packages/sdk/dist, so every target that installs also builds it.
SDK_DIST := packages/sdk/dist/index.js

# Auditor replay of an event export: make replay FILE=exports/x.json
.PHONY: replay
replay: build
	@test -n "$(FILE)" || { echo 'usage: make replay FILE=export.json'; exit 2; }
	REPLAY_FILE=$(abspath $(FILE)) $(FORGE) test --ffi --match-path test/replay/Replay.t.sol -vv

# The main job: a local energy community on an embedded anvil (or RPC_URL=... with PRIVATE_KEY= and
# KEEPER_PRIVATE_KEY= of funded accounts). DEMO_WINDOWS, DEMO_WINDOW_SECONDS, DEMO_PROSUMERS tune it.
.PHONY: demo
# Settings reach the demo through the environment (make exports command-line variables), never on the echoed
# command line: `make demo PRIVATE_KEY=...` does not print the key. Defaults and checks: keeper/dev/demo-config.ts.
demo: build web-build
	exec node --import tsx keeper/dev/demo.ts

.PHONY: install sdk-build build test test-forge test-keeper test-web web web-build chromium typecheck abi abi-check bench bench-keeper keeper keeper-build keeper-prod-check options-doc fmt fmt-fix lint lint-fix coverage clean

install: $(STAMP) $(SDK_DIST)

# npm install (not npm ci: the lockfile lacks other platforms' Foundry packages) when node_modules is
# missing or older than package.json / package-lock.json.
$(STAMP): package.json $(wildcard package-lock.json)
	npm install --no-audit --no-fund
	@touch $(STAMP)

$(SDK_DIST): $(STAMP) $(wildcard packages/sdk/src/*.ts) packages/sdk/tsconfig.json packages/sdk/package.json
	npx tsc -p packages/sdk/tsconfig.json

sdk-build: $(SDK_DIST)

build: install
	$(FORGE) build

test: test-forge test-keeper test-web

test-forge: install
	$(FORGE) test --no-match-path "test/bench/*"

test-keeper: build typecheck abi-check
	npx vitest run --root keeper

# The prosumer web app (web/): build the page, then serve it with the data API against any chain:
# make web RPC_URL=... MARKET_ADDRESS=... RELAYER_URL=... (docs/web.md lists every setting).
web-build: install
	npx vite build --config web/vite.config.ts

web: web-build
	exec node --import tsx web/server/cli.ts

# Debian's chromium for the browser test (playwright-core drives it; no browser download).
chromium:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

# API tests (vitest on anvil) and the browser scenario in headless chromium; screenshots in web/test-results/.
test-web: build web-build typecheck chromium
	npx vitest run --root web

typecheck: install
	npx tsc -p tsconfig.json

abi: build
	npx tsx keeper/scripts/gen-abi.ts

abi-check: build
	npx tsx keeper/scripts/gen-abi.ts --check

# Deeper invariant campaign (FOUNDRY_PROFILE=deep: more and longer runs); prints what the runs reached.
.PHONY: test-deep
test-deep: install
	FOUNDRY_PROFILE=deep $(FORGE) test --match-path "test/invariant/*" -vv

# Gas from real transaction receipts on a local anvil (keeper/bench/gas.ts). BENCH_MAX_BOOK=1000 for a quicker
# run, BENCH_BATCHES=100,300 (close/readings/settle sizes), BENCH_VERIFY=0 skips the largest-batch checks,
# BENCH_ONLY=signed (placeOrdersBySig and permit) or classic (the rest), BENCH_SIGNED_BATCHES=1,10,100,300.
bench: build
	npx tsx keeper/bench/gas.ts

# The older cheatcode-based table (vm.cool arithmetic, gas before refunds).
.PHONY: bench-forge
bench-forge: install
	$(FORGE) test --match-path 'test/bench/*' -vv | grep -E '^\s+\|' | sed 's/^ *//'

# A 10,000-order window taken from close to settled by the keeper process (PAIRS=5000 bids and asks).
bench-keeper: build
	npx tsx keeper/bench/window10k.ts

# The keeper in the foreground, node started directly so SIGTERM reaches it: make keeper ARGS="--dry-run".
keeper: build
	exec node --max-semi-space-size=1 --max-old-space-size=96 --import tsx keeper/src/cli.ts run $(ARGS)

# What ships: keeper/src (service and relayer) compiled to keeper/dist; run it with plain node (package.json "bin").
keeper-build: install
	npx tsc -p keeper/tsconfig.build.json

# The production install (npm ci --omit=dev, no tsx, no forge) in a temporary directory, and the keeper starting
# from it (with the SDK workspace's package.json and compiled dist); prints the install's size (docs/operators.md).
# Needs the npm registry.
keeper-prod-check: keeper-build
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	cp package.json package-lock.json "$$dir"/ && cp -r stubs "$$dir"/ && mkdir -p "$$dir"/keeper && cp -r keeper/dist "$$dir"/keeper/ && \
	mkdir -p "$$dir"/packages/sdk && cp -r packages/sdk/package.json packages/sdk/dist "$$dir"/packages/sdk/ && \
	(cd "$$dir" && npm ci --omit=dev --omit=optional --omit=peer --ignore-scripts --no-audit --no-fund >/dev/null && \
	 node keeper/dist/cli.js --version && du -sh node_modules)

# The options table of docs/operators.md, from keeper/src/config.ts.
options-doc: install
	npx tsx keeper/scripts/gen-options-doc.ts

fmt: install
	$(FORGE) fmt --check

fmt-fix: install
	$(FORGE) fmt

lint-fix: install
	npx biome check --write keeper packages/sdk

# Solidity: forge fmt and lint. Keeper and SDK: Biome (lint and format, biome.json), no line over 120 characters.
lint: fmt typecheck
	$(FORGE) lint src
	npx biome check keeper packages/sdk
	npx tsx keeper/scripts/check-lines.ts
	npx tsx keeper/scripts/gen-options-doc.ts --check

# Own out/cache dirs: coverage builds unoptimised artifacts that would otherwise break later scripts.
coverage: install
	FOUNDRY_OUT=out-coverage FOUNDRY_CACHE_PATH=cache-coverage $(FORGE) coverage --no-match-path 'test/bench/*' --report summary

clean:
	rm -rf out cache out-coverage cache-coverage
