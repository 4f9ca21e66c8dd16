import { useEffect, useRef } from 'react';

/**
 * A confirmation's safe default: its Cancel button has the focus when it opens (Enter cancels,
 * never confirms) and Escape cancels. Returns the ref for the Cancel button.
 */
export function useCancelOnEscape(onCancel: () => void) {
  const cancelButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    cancelButton.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onCancel();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onCancel]);
  return cancelButton;
}
