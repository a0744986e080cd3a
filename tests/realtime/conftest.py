"""The voice tests' fixtures (loopback ElevenLabs, LiveKit keys, quick timeouts, a tidy
event loop), for the contract tests' calls and push-to-talk turns."""

from tests.voice.conftest import livekit, quick_voice, speech, tidy_event_loop

__all__ = ["livekit", "quick_voice", "speech", "tidy_event_loop"]
