/** Whether this tab is the one on screen, as reactive state (read state and notifications follow it). */
class PageVisibility {
  visible = $state(typeof document === 'undefined' || document.visibilityState === 'visible');

  constructor() {
    if (typeof document === 'undefined') return;
    document.addEventListener('visibilitychange', () => {
      this.visible = document.visibilityState === 'visible';
    });
  }
}

export const pageVisibility = new PageVisibility();
