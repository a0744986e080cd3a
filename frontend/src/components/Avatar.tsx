import { hueOf, initials } from "@/lib/format";

export function Avatar({ name, size = 40, group = false }: { name: string; size?: number; group?: boolean }) {
  const hue = hueOf(name);
  return (
    <span
      className={`avatar${group ? " avatar-group" : ""}`}
      aria-hidden="true"
      style={{ width: size, height: size, fontSize: size * 0.38, background: `hsl(${hue} 55% 38%)` }}
    >
      {initials(name)}
    </span>
  );
}
