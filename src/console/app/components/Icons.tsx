/** The few icons the console draws (inline SVG: nothing is fetched). */
export function WindowsIcon() {
  return (
    <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
      <path fill="#0a74da" d="M2 4.5 10 3.4v7.8H2zM11 3.3 22 2v9.2H11zM2 12.2h8v7.8l-8-1.1zM11 12.2h11V22l-11-1.5z" />
    </svg>
  );
}

export function LinuxIcon() {
  return (
    <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
      <rect x="2" y="3" width="20" height="18" rx="3" fill="#1f2937" />
      <path d="m6 9 3.5 3L6 15" stroke="#34d399" stroke-width="2" fill="none" stroke-linecap="round" stroke-linejoin="round" />
      <path d="M12 15.5h6" stroke="#e5e7eb" stroke-width="2" stroke-linecap="round" />
    </svg>
  );
}
