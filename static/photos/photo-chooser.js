/* Refresh the photo chooser's preview when the chosen photo number changes.
   Without this script the preview updates on the next save; nothing else depends on it. */
'use strict';
{
    function paragraph(text, className) {
        const element = document.createElement('p');
        element.textContent = text;
        if (className) {
            element.className = className;
        }
        return element;
    }

    function showMessage(preview, text, className) {
        preview.replaceChildren(paragraph(text, className));
    }

    function showPhoto(preview, photo) {
        const shown = [];
        if (photo.thumbnail) {
            const image = document.createElement('img');
            image.src = photo.thumbnail.url;
            image.width = photo.thumbnail.width;
            image.height = photo.thumbnail.height;
            image.alt = '';
            image.className = 'photo-chooser-thumbnail';
            shown.push(image);
        }

        const text = document.createElement('div');
        text.className = 'photo-chooser-text';
        const title = document.createElement('strong');
        if (photo.change_url) {
            const link = document.createElement('a');
            link.href = photo.change_url;
            link.textContent = photo.label;
            title.append(link);
        } else {
            title.textContent = photo.label;
        }
        text.append(title);
        if (photo.caption) {
            text.append(paragraph(photo.caption));
        }
        text.append(paragraph('Credit: ' + (photo.credit || 'none')));
        for (const gap of photo.gaps) {
            text.append(paragraph(gap, 'photo-chooser-gap'));
        }
        preview.replaceChildren(...shown, text);
    }

    function refresh(input) {
        const chooser = input.closest('.photo-chooser');
        const preview = chooser.querySelector('.photo-chooser-preview');
        const number = input.value.trim();
        if (number === '') {
            showMessage(preview, 'No photo chosen.', 'photo-chooser-empty');
            return;
        }
        if (!/^\d+$/.test(number)) {
            showMessage(preview, 'A photo number is digits only.', 'photo-chooser-gap');
            return;
        }
        const url = chooser.dataset.summaryUrl.replace('{id}', number);
        fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
            .then((response) => response.json().then((data) => ({ok: response.ok, data})))
            .then(({ok, data}) => {
                if (ok) {
                    showPhoto(preview, data);
                } else {
                    showMessage(preview, data.error.message, 'photo-chooser-gap');
                }
            })
            .catch(() => showMessage(preview, 'Could not load the photo; save to see it.', 'photo-chooser-gap'));
    }

    document.addEventListener('DOMContentLoaded', () => {
        for (const input of document.querySelectorAll('.photo-chooser input')) {
            // The admin's lookup popup announces a choice with a jQuery event only.
            if (window.django && window.django.jQuery) {
                window.django.jQuery(input).on('change', () => refresh(input));
            } else {
                input.addEventListener('change', () => refresh(input));
            }
        }
    });
}
