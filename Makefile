.PHONY: demo test bench
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/setup.sh && for b in asgi flask django; do .venv/bin/python benchmarks/$${b}_sessions.py || exit 1; done
