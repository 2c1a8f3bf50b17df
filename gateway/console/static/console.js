// The console's only script (progressive enhancement: every page works without it).
document.addEventListener('DOMContentLoaded', () => {
  const print = document.getElementById('print');
  if (print) print.addEventListener('click', () => window.print());
});
