import Link from "next/link";

export function Brand({ href = "/" }: { href?: string }) {
  return (
    <Link href={href} className="brand" aria-label="Commonality home">
      <svg width="28" height="28" viewBox="0 0 64 64" aria-hidden="true">
        <rect width="64" height="64" rx="16" fill="currentColor" />
        <path d="M14 20a6 6 0 0 1 6-6h18a6 6 0 0 1 6 6v10a6 6 0 0 1-6 6H26l-8 6v-6a4 4 0 0 1-4-4z" fill="#fff" />
        <path d="M50 30v12a4 4 0 0 1-4 4v6l-8-6H30a4 4 0 0 1-4-4v-2h12a8 8 0 0 0 8-8v-2z" fill="#c7d2fe" />
      </svg>
      <span>Commonality</span>
    </Link>
  );
}
