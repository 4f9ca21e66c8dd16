/**
 * The app's content security policy allows no inline styles (style-src 'self'), and xterm.js
 * sets its colours and cell sizes through <style> elements it writes at run time, which the policy
 * blocks. Their rules are copied into a constructed stylesheet the document adopts (the policy
 * governs markup, not stylesheets built through the CSSOM), and kept up to date as xterm rewrites
 * them; nothing else gains a way to add styles.
 */
export function adoptStyleElements(root: HTMLElement): () => void {
  const sheet = new CSSStyleSheet();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const sync = () => sheet.replaceSync([...root.querySelectorAll('style')].map((style) => style.textContent).join('\n'));
  const observer = new MutationObserver(sync);
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
}
