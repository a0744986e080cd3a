"""The warm-up's hook for the apps above core (apps/core/warmup.py)."""

from __future__ import annotations

import asyncio

from apps.core import warmup


def test_the_chats_app_registers_its_translation_client():
    from apps.chats.translation import translation_client_prepare

    assert translation_client_prepare in warmup._warm_up_steps


async def test_readiness_runs_each_registered_step_once_on_the_running_loop():
    loops = []

    def step() -> None:
        loops.append(asyncio.get_running_loop())

    warmup.warm_up_step_register(step)
    warmup.warm_up_step_register(step)
    try:
        await warmup.instance_readiness()
    finally:
        warmup._warm_up_steps.remove(step)
    assert loops == [asyncio.get_running_loop()]
