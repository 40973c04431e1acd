"""Runs a command under a pseudo-terminal and answers its prompts in order.

Heimdal's kpasswd reads passwords from the terminal only, never from a pipe. Usage:
    tty_answer.py ANSWER... -- COMMAND [ARG...]
Each line the command prints that ends in ':' gets the next answer. The command's output goes
to stdout; the exit status is the command's.
"""
import os
import pty
import sys


def main() -> int:
    sep = sys.argv.index("--")
    answers, argv = sys.argv[1:sep], sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        pending += chunk
        if pending.rstrip().endswith(b":") and answers:
            os.write(fd, answers.pop(0).encode() + b"\n")
            pending = b""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
