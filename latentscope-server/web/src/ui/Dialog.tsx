// A modal dialog asking to confirm something (Escape or a click outside cancels).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function Dialog({
  title,
  children,
  confirm,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ComponentChildren;
  confirm: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ok = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    ok.current?.focus();
    const key = (e: KeyboardEvent) => e.key === 'Escape' && onCancel();
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  }, []);
  return (
    <div class="dialog-back" onClick={(e) => e.stopPropagation()} onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-label={title} data-testid="dialog">
        <h3>{title}</h3>
        <div class="dialog-body">{children}</div>
        <div class="dialog-buttons">
          <button class="btn" onClick={onCancel} data-testid="dialog-cancel">
            Cancel
          </button>
          <button ref={ok} class={`btn ${danger ? 'danger' : 'primary'}`} disabled={busy} onClick={onConfirm} data-testid="dialog-confirm">
            {confirm}
          </button>
        </div>
      </div>
    </div>
  );
}
