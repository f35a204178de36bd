window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  imgs.forEach(function (img) { img.setAttribute("data-natural-width", img.naturalWidth); });
  document.body.setAttribute("data-images-total", imgs.length);
  document.body.setAttribute("data-images-loaded",
    imgs.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length);
});
