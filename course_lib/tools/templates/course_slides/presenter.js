// A small offline slide presenter for nbconvert's reveal markup:
//   div.slides > section (a slide) > section (a sub-slide) > div.fragment (shown in turn)
// Right / Space / PageDown: next fragment or sub-slide; Left / PageUp: back;
// Down / Up: next / previous sub-slide; Home / End. The URL hash (#/3) keeps the place.
(function () {
  "use strict";
  var slides = Array.prototype.slice.call(document.querySelectorAll(".slides > section"));
  var pages = [];
  slides.forEach(function (slide) {
    var subs = slide.querySelectorAll(":scope > section");
    (subs.length ? Array.prototype.slice.call(subs) : [slide]).forEach(function (sub) {
      pages.push({ slide: slide, sub: sub, fragments: sub.querySelectorAll(".fragment") });
    });
  });
  var counter = document.querySelector(".slide-counter");
  var bar = document.querySelector(".slide-progress span");
  var page = 0;
  var shown = 0; // fragments visible on the current page

  function render() {
    pages.forEach(function (p, i) {
      p.sub.classList.toggle("present", i === page);
    });
    slides.forEach(function (slide) {
      slide.classList.toggle("present", slide === pages[page].slide);
    });
    var fragments = pages[page].fragments;
    for (var j = 0; j < fragments.length; j++) {
      fragments[j].classList.toggle("visible", j < shown);
    }
    if (counter) counter.textContent = page + 1 + " / " + pages.length;
    if (bar) bar.style.width = (100 * (page + 1)) / pages.length + "%";
    document.body.setAttribute("data-slide", String(page));
    document.body.setAttribute("data-fragment", String(shown));
    if (window.location.hash !== "#/" + page) {
      window.history.replaceState(null, "", "#/" + page);
    }
  }
  function go(target, fragmentsShown) {
    page = Math.max(0, Math.min(pages.length - 1, target));
    var total = pages[page].fragments.length;
    shown = fragmentsShown === "all" ? total : Math.min(total, fragmentsShown || 0);
    pages[page].sub.scrollTop = 0;
    render();
  }
  function next() {
    if (shown < pages[page].fragments.length) {
      shown += 1;
      render();
      var last = pages[page].fragments[shown - 1];
      if (last.scrollIntoView) last.scrollIntoView({ block: "nearest" });
    } else if (page < pages.length - 1) {
      go(page + 1, 0);
    }
  }
  function previous() {
    if (shown > 0) {
      shown -= 1;
      render();
    } else if (page > 0) {
      go(page - 1, "all");
    }
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var actions = {
      ArrowRight: next, " ": next, PageDown: next, n: next,
      ArrowLeft: previous, PageUp: previous, p: previous, Backspace: previous,
      ArrowDown: function () { go(page + 1, 0); },
      ArrowUp: function () { go(page - 1, 0); },
      Home: function () { go(0, 0); },
      End: function () { go(pages.length - 1, "all"); }
    };
    var action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  var nextButton = document.querySelector(".slide-next");
  var prevButton = document.querySelector(".slide-prev");
  if (nextButton) nextButton.addEventListener("click", next);
  if (prevButton) prevButton.addEventListener("click", previous);
  if (!pages.length) return;
  var start = /^#\/(\d+)/.exec(window.location.hash);
  go(start ? parseInt(start[1], 10) : 0, 0);
})();
