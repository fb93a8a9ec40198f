/* Set a photo's focal point by clicking its preview. The two number fields stay the
   source of truth and work without this script. */
'use strict';
{
    function placeMarker(marker, x, y) {
        marker.hidden = false;
        marker.style.left = (x * 100) + '%';
        marker.style.top = (y * 100) + '%';
    }

    document.addEventListener('DOMContentLoaded', () => {
        const frame = document.querySelector('.photo-focal-frame');
        const inputX = document.getElementById('id_focal_point_x');
        const inputY = document.getElementById('id_focal_point_y');
        if (!frame || !inputX || !inputY) {
            return;
        }
        const image = frame.querySelector('img');
        const marker = frame.querySelector('.photo-focal-marker');
        const fromInputs = () => {
            const x = parseFloat(inputX.value);
            const y = parseFloat(inputY.value);
            if (x >= 0 && x <= 1 && y >= 0 && y <= 1) {
                placeMarker(marker, x, y);
            } else {
                marker.hidden = true;
            }
        };
        frame.classList.add('photo-focal-frame-active');
        image.addEventListener('click', (event) => {
            const box = image.getBoundingClientRect();
            const x = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
            const y = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1);
            inputX.value = x.toFixed(3);
            inputY.value = y.toFixed(3);
            placeMarker(marker, x, y);
        });
        inputX.addEventListener('input', fromInputs);
        inputY.addEventListener('input', fromInputs);
        fromInputs();
    });
}
