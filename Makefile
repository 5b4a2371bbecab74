# The two commands a newcomer needs, plus a development loop.
.PHONY: run test dev dist

# Build the release and serve Latchkey at http://localhost:3000 (data in ./data/).
run:
	@bash scripts/run.sh

# Install what the tests need and run every test (lints, Rust, browser).
test:
	@bash scripts/test.sh

# Rebuild and reload on change (cargo leptos watch --split).
dev:
	@bash -c '. scripts/setup-tools.sh && cargo leptos watch --split'

# The files to deploy in dist/: the binary (the site built into it), the systemd unit, its
# user and a sample settings file (see README, "Running as a service").
dist:
	@bash scripts/dist.sh
