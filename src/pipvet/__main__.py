"""``python -m pipvet``."""

from pipvet.cli import run

if __name__ == "__main__":
    run()
