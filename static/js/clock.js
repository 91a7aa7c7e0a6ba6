// One way to write a time in the browser, the same as the server's (invigilation/core/clock.py):
// the site's time zone (not the browser's) and its 12/24 h setting, read from <html>.
(function () {
  "use strict";
  const html = document.documentElement;
  const twelve = html.dataset.clock === "12h";
  const options = { timeZone: html.dataset.timeZone || "UTC", hourCycle: twelve ? "h12" : "h23" };
  // 13:10:09 or 1:10:09 PM, as the server's H:i:s and g:i:s A.
  const timeFormat = new Intl.DateTimeFormat(twelve ? "en-US" : "en-GB", {
    ...options, hour: twelve ? "numeric" : "2-digit", minute: "2-digit", second: "2-digit",
  });
  const dateTimeFormat = new Intl.DateTimeFormat("en-GB", {
    ...options, weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit",
  });
  function parse(value) {
    const date = value instanceof Date ? value : new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  window.Clock = {
    time(value) {
      const date = parse(value);
      return date ? timeFormat.format(date) : "";
    },
    dateTime(value) {
      const date = parse(value);
      return date ? dateTimeFormat.format(date) : "";
    },
  };
})();
