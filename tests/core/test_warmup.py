"""The warm-up's hook for the apps above core (apps/core/warmup.py)."""

from __future__ import annotations

import asyncio
import gc

import pytest

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


@pytest.fixture
def frozen_heap_released():
    yield
    gc.unfreeze()


async def test_a_warm_instance_has_frozen_its_start_up_heap(settings, frozen_heap_released):
    settings.GC_FREEZE_AFTER_WARM_UP = True
    gc.unfreeze()
    built_at_start_up = [object()]  # a tracked object alive when warming ends
    await warmup.instance_warm_up()
    assert gc.get_freeze_count() > 10_000
    # Frozen objects are in no generation: full collections no longer walk them.
    assert not any(obj is built_at_start_up for obj in gc.get_objects())


async def test_the_freeze_can_be_turned_off(settings, frozen_heap_released):
    settings.GC_FREEZE_AFTER_WARM_UP = False
    gc.unfreeze()
    await warmup.instance_warm_up()
    assert gc.get_freeze_count() == 0
