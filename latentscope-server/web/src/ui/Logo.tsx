export function Logo() {
  return (
    <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true">
      <rect width="16" height="16" rx="3" fill="#223" />
      <circle cx="5" cy="6" r="1.6" fill="#f6a" />
      <circle cx="10" cy="5" r="1.6" fill="#6cf" />
      <circle cx="8" cy="11" r="1.6" fill="#fd5" />
      <circle cx="12" cy="10" r="1.2" fill="#6cf" />
      <circle cx="4" cy="11" r="1.2" fill="#f6a" />
    </svg>
  );
}
