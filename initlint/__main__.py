"""``python -m initlint``: the same command as the ``initlint`` script."""

from initlint.cli import run

if __name__ == "__main__":
    run()
