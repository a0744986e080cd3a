import { avatarBackground, initials } from "@/lib/format";

export function Avatar({ name, size = 40, group = false }: { name: string; size?: number; group?: boolean }) {
  return (
    <span
      className={`avatar${group ? " avatar-group" : ""}`}
      aria-hidden="true"
      style={{ width: size, height: size, fontSize: size * 0.38, background: avatarBackground(name) }}
    >
      {initials(name)}
    </span>
  );
}
