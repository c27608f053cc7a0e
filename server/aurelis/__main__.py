"""`python -m aurelis` runs the CLI (so editors can start `python -m aurelis serve`)."""

from aurelis.cli.main import run

if __name__ == "__main__":
    run()
