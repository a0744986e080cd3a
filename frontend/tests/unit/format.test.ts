import { describe, expect, it } from "vitest";
import { avatarBackground, avatarBackgroundOfHue, initials } from "@/lib/format";

/** "hsl(H S% L%)" as sRGB channels in 0..1 (CSS Color 4's conversion). */
function hslToRgb(css: string): [number, number, number] {
  const match = css.match(/^hsl\((\d+(?:\.\d+)?) (\d+(?:\.\d+)?)% (\d+(?:\.\d+)?)%\)$/);
  if (!match) throw new Error(`not an hsl() colour: ${css}`);
  const [h, s, l] = [Number(match[1]), Number(match[2]) / 100, Number(match[3]) / 100];
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

/** WCAG 2's relative luminance and contrast ratio. */
function luminance([r, g, b]: [number, number, number]): number {
  const linear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}
function contrastWithWhite(css: string): number {
  return 1.05 / (luminance(hslToRgb(css)) + 0.05);
}

describe("avatars", () => {
  it("white initials keep 4.5:1 on every hue's background", () => {
    const worst = Math.min(...Array.from({ length: 360 }, (_, hue) => contrastWithWhite(avatarBackgroundOfHue(hue))));
    expect(worst).toBeGreaterThanOrEqual(4.5);
  });

  it("a name's background is its hue's", () => {
    expect(avatarBackground("Book club")).toBe(avatarBackground("Book club"));
    expect(avatarBackground("Book club")).toMatch(/^hsl\(\d+ 55% 30%\)$/);
    expect(contrastWithWhite(avatarBackground("Book club"))).toBeGreaterThanOrEqual(4.5);
  });

  it("initials: two words' first letters, else a word's first two", () => {
    expect(initials("Ava Tester")).toBe("AT");
    expect(initials("book_club")).toBe("BC");
    expect(initials("ava")).toBe("AV");
  });
});
