/** Asking for permission to notify and notifying: a chunk the element loads only once a page turns `notify` on. */

/** Asks once, while the user has not answered yet. */
export function ask(): void {
  if (globalThis.Notification?.permission === 'default') Notification.requestPermission();
}

/** Notifies only when permission is granted and the page is hidden (a visible page shows the change itself). */
export function show(title: string, body?: string): void {
  if (document.hidden && globalThis.Notification?.permission === 'granted') new Notification(title, { body });
}
