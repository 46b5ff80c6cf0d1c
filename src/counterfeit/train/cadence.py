"""When periodic work is due: on every `every`-th step, and always on the last one (so a run's
final state is logged, pictured, evaluated and checkpointed whatever its length)."""


def due(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last
