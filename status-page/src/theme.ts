import { byId } from './dom.js';

type ThemeChoice = 'auto' | 'light' | 'dark';
const NEXT: Readonly<Record<ThemeChoice, ThemeChoice>> = {
  auto: 'light',
  light: 'dark',
  dark: 'auto',
};

/**
 * The theme toggle: auto (the system's `prefers-color-scheme`), light, dark.
 * The choice lives in `<html data-theme>` for this visit only: the page keeps
 * nothing in storage. `onChange` runs whenever the colours in effect change
 * (the toggle, or the system switching while on auto).
 */
export function setUpTheme(onChange: () => void): void {
  const button = byId('theme-toggle', HTMLButtonElement);
  const root = document.documentElement;
  let choice: ThemeChoice = 'auto';
  const label = (): void => {
    button.textContent = `Theme: ${choice}`;
    button.setAttribute('aria-label', `Colour theme: ${choice}. Change theme`);
  };
  label();
  button.addEventListener('click', () => {
    choice = NEXT[choice];
    if (choice === 'auto') delete root.dataset.theme;
    else root.dataset.theme = choice;
    label();
    onChange();
  });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (choice === 'auto') onChange();
  });
}
