/** Small behaviours of the dashboard's controls, delegated so swapped-in content works too. */
export function initControls(): void {
  document.addEventListener('change', (event) => {
    const target = event.target
    if (!(target instanceof HTMLSelectElement)) return
    // The site switcher reloads the page: a new site needs a new live stream.
    const form = target.closest<HTMLFormElement>('form[data-autosubmit]')
    form?.requestSubmit()
  })
  document.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>('[data-copy]')
    const source = button && document.getElementById(button.dataset.copy ?? '')
    if (!button || !source) return
    void navigator.clipboard.writeText(source.textContent ?? '').then(
      () => {
        button.textContent = 'Copied'
      },
      () => {
        button.textContent = 'Select and copy'
      },
    )
  })
}
