// Theme before the first paint (a classic script in <head>): "light" or
// "dark" from the switch, else the system's prefers-color-scheme.
(function () {
  try {
    var t = localStorage.getItem('setec-theme');
    if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
  } catch (e) {
    // storage disabled: follow the system
  }
})();
