"use client";

/**
 * The one audio player of the tab: listeners' synthesized speech from push-to-talk turns
 * plays here, whichever page is on screen (lib/audioPlayer.ts). Its state is in the voice
 * store (`playback`); pages reach its controls (Play after a blocked autoplay, Play again)
 * through useVoicePlayer().
 */
import { useEffect, useRef } from "react";
import { TurnAudioPlayer } from "@/lib/audioPlayer";
import { useSession, useVoiceSnapshot } from "./session";

let activePlayer: TurnAudioPlayer | null = null;

/** The tab's player (null before it is mounted). */
export function useVoicePlayer(): TurnAudioPlayer | null {
  useVoiceSnapshot(); // re-render when playback changes
  return activePlayer;
}

export function VoiceAudio() {
  const { client } = useSession();
  const ref = useRef<HTMLAudioElement>(null);
  const { playback } = useVoiceSnapshot();

  useEffect(() => {
    const audio = ref.current;
    if (!audio) return;
    const player = new TurnAudioPlayer(audio, (status) => client.voice.setPlayback(status));
    activePlayer = player;
    client.voice.setSink(player);
    return () => {
      client.voice.setSink(null);
      if (activePlayer === player) activePlayer = null;
      player.dispose();
    };
  }, [client]);

  return (
    <div className="visually-hidden" data-testid="voice-audio" data-playback={playback.state} data-mode={playback.mode ?? ""} data-played={playback.played}>
      {/* Speech in the listener's language; what it says is on screen as text too. */}
      <audio ref={ref} preload="auto" />
    </div>
  );
}
