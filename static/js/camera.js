// The picture a student's page sends: the camera's frame, at most 640 px on the long side
// (keeping its aspect ratio), as a JPEG. The capture page and the system check send the same,
// so the check's face, light and upload timing are those of the exam's frames.
(function () {
  "use strict";
  window.Camera = {
    jpeg(video, canvas) {
      const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    },
  };
})();
