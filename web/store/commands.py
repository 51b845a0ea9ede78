"""Remote commands as received from a staff remote: read, checked against the store's stock, refused
with a reason when malformed or too large."""

from __future__ import annotations

import json
from typing import Any

from tryon.kiosk import CommandError, Look, check_command

#: The largest command body accepted (bytes); a remote command is a few hundred.
MAX_COMMAND_BYTES = 2048


def parse_body(body: bytes) -> dict[str, Any]:
    """A command from a JSON request body, or :class:`CommandError`."""
    if len(body) > MAX_COMMAND_BYTES:
        raise CommandError(f"the command is larger than {MAX_COMMAND_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CommandError("the command is not valid JSON") from None
    return check_command(data)


def from_form(form: Any) -> dict[str, Any]:
    """A command from the remote page's plain HTML forms (``type`` plus its fields)."""
    kind = form.get("type", "")
    command: dict[str, Any] = {"type": kind}
    if kind == "frame":
        command["frame_id"] = form.get("frame_id", "")
    elif kind in ("colour", "lens", "size"):
        command[kind] = form.get(kind, "")
    elif kind == "freeze":
        command["on"] = form.get("on") == "1"
    elif kind == "split":
        on = form.get("on") == "1"
        command.update(on=on, mode=form.get("mode") if on else None)
        for side in ("left", "right"):
            look = None
            if on:
                look = {"frame_id": form.get(f"{side}_frame", "")}
                if form.get(f"{side}_colour"):
                    look["colour"] = form.get(f"{side}_colour")
            command[side] = look
    elif kind == "lookback":
        command["action"] = form.get("action", "")
        if form.get("position_s"):
            try:
                command["position_s"] = float(form["position_s"])
            except ValueError:
                raise CommandError("position_s must be a number of seconds") from None
        for key in ("a", "b"):
            if form.get(key):
                try:
                    command[key] = int(form[key])
                except ValueError:
                    raise CommandError(f"{key} must be a snapshot number") from None
    if sum(len(str(v)) for v in form.values()) > MAX_COMMAND_BYTES:
        raise CommandError(f"the command is larger than {MAX_COMMAND_BYTES} bytes")
    return check_command(command)


def check_against_stock(command: dict[str, Any], frames: list[Any]) -> None:
    """Refuse frames the store does not stock and colours, lenses, sizes no stocked frame has."""
    by_id = {f.id: f for f in frames}
    looks: list[Look] = []
    if command["type"] == "frame":
        looks.append(Look(command["frame_id"]))
    elif command["type"] == "split" and command.get("on"):
        looks += [Look.from_json(command["left"]), Look.from_json(command["right"])]
    for look in looks:
        frame = by_id.get(look.frame_id)
        if frame is None:
            raise CommandError(f"frame {look.frame_id!r} is not in this store's stock")
        if look.colour and look.colour not in {c.id for c in frame.colours}:
            raise CommandError(f"frame {look.frame_id!r} has no colour {look.colour!r}")
    options = {
        "colour": {c.id for f in frames for c in f.colours},
        "lens": {x.id for f in frames for x in f.lenses},
        "size": {s.label for f in frames for s in f.sizes},
    }
    kind = command["type"]
    if kind in options and command[kind] not in options[kind]:
        raise CommandError(f"no frame of this store has the {kind} {command[kind]!r}")
