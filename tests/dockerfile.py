"""What deploy/docker/Dockerfile says, read the way Docker reads it: instructions and environment."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    stage: str
    keyword: str
    arguments: str


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Every instruction of the Dockerfile, each tagged with the stage (``FROM ... AS name``) it is in."""
    found: list[Instruction] = []
    stage = ""
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        pending = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            stage = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
        found.append(Instruction(stage, keyword, " ".join(arguments.split())))
    return found


def runtime_environment(path: Path = DOCKERFILE) -> dict[str, str]:
    """The ``ENV`` variables of the image's last stage, in order, values as written."""
    final_stage = instructions(path)[-1].stage
    environment: dict[str, str] = {}
    for instruction in instructions(path):
        if instruction.stage == final_stage and instruction.keyword == "ENV":
            for assignment in shlex.split(instruction.arguments):
                key, _, value = assignment.partition("=")
                environment[key] = value
    return environment
