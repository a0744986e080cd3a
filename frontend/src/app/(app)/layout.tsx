import type { ReactNode } from "react";
import { AppSession } from "@/components/AppSession";

export default function SignedInLayout({ children }: { children: ReactNode }) {
  return <AppSession>{children}</AppSession>;
}
