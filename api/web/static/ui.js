// Enhancement only: every page works without it. Confirm before a decision that cannot be undone.
document.addEventListener("submit", (event) => {
  const action = event.target.getAttribute("action") || "";
  if (/\/actions\/(refuse|withdraw)$/.test(action) && !window.confirm("Xác nhận thao tác này? Không thể hoàn tác.")) {
    event.preventDefault();
  }
});
