/* Story form: keep a private working copy while the person types, show who else has the
   story open, and hand the lock over between editors. Without this script the form still
   saves as usual; only these extras are missing. */
'use strict';
{
    const READ_ONLY_LOCK = 'story-editing-lock';
    // sendBeacon refuses bodies past the browser's quota (64 KB for all pending beacons).
    const BEACON_LIMIT = 60000;
    const CONNECTION_LOST = 'Not saved to the server: check your connection / sign in again.';
    const SERVER_PROBLEM = 'Not saved to the server: it had a problem; your changes will be sent again with your next edit.';

    function paragraph(text, className) {
        const element = document.createElement('p');
        element.textContent = text;
        if (className) {
            element.className = className;
        }
        return element;
    }

    function hasContent(element) {
        return element.children.length > 0 || element.textContent.trim() !== '';
    }

    function instant(iso) {
        // Date.parse only promises milliseconds; the server sends microseconds.
        return Date.parse(String(iso).replace(/(\.\d{3})\d+/, '$1'));
    }

    function sameInstant(first, second) {
        const a = instant(first);
        const b = instant(second);
        return Number.isNaN(a) || Number.isNaN(b) ? first === second : a === b;
    }

    function clockTime(iso) {
        const time = instant(iso);
        if (Number.isNaN(time)) {
            return String(iso);
        }
        return new Date(time).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
    }

    function since(display) {
        return display ? ` since ${display}` : '';
    }

    /* Return {ok, data} for a JSON success, {refused, message} for a 4xx the person should
       read, {lost} when the session or the connection is gone, {failed} for a server error. */
    async function readResponse(response) {
        if (response.type === 'opaqueredirect' || response.redirected) {
            return {lost: true};
        }
        let data = null;
        if ((response.headers.get('Content-Type') || '').includes('json')) {
            try {
                data = await response.json();
            } catch {
                data = null;
            }
        }
        if (response.ok) {
            return data ? {ok: true, data} : {lost: true};
        }
        if (response.status >= 400 && response.status < 500) {
            const message = data && data.error ? data.error : `The server refused this (error ${response.status}).`;
            return {refused: true, message};
        }
        return {failed: true};
    }

    function start(root, form) {
        const data = root.dataset;
        const settings = {
            autosaveUrl: data.autosaveUrl || '',
            heartbeatUrl: data.heartbeatUrl || '',
            takeOverUrl: data.takeOverUrl || '',
            releaseUrl: data.releaseUrl || '',
            heartbeatMs: Math.max(1, Number(data.heartbeatSeconds) || 20) * 1000,
            autosaveDelayMs: Math.max(250, Number(data.autosaveDelayMs) || 2000),
            canEdit: data.canEdit !== '0',
            modifiedAt: data.modifiedAt || '',
        };

        function region(id, tag) {
            let element = root.querySelector('#' + id);
            if (!element) {
                element = document.createElement(tag);
                element.id = id;
                element.setAttribute('aria-live', 'polite');
                root.append(element);
            }
            return element;
        }
        const statusElement = region('autosave-status', 'p');
        const presence = region('presence', 'div');
        const lockNotice = region('lock-notice', 'div');
        lockNotice.hidden = !hasContent(lockNotice);
        // Being taken over happens while the person looks elsewhere on the form.
        if (!lockNotice.hasAttribute('aria-live')) {
            lockNotice.setAttribute('aria-live', 'polite');
        }

        const state = {
            readOnly: data.editing === '0',
            holdsLock: data.editing !== '0' && settings.canEdit && settings.heartbeatUrl !== '',
            // The page is going away on purpose (a submit, a restore, a reload after taking
            // over): the next page saves or holds the lock, so nothing is sent on the way out.
            leaving: false,
            keptChanges: false,
            // Earlier unsaved changes are on offer: keeping this form would replace them.
            offerOpen: data.offer === '1',
            offerNoticeShown: false,
            newerVersionShown: false,
        };

        function serialise() {
            const params = new URLSearchParams();
            for (const [name, value] of new FormData(form)) {
                if (typeof value === 'string') {
                    params.append(name, value);
                }
            }
            return params.toString();
        }

        function csrfToken() {
            const input = form.querySelector('input[name=csrfmiddlewaretoken]');
            return input ? input.value : '';
        }

        function post(url, body) {
            return fetch(url, {
                method: 'POST',
                body,
                credentials: 'same-origin',
                // A lapsed session answers with a redirect to the login page; following it
                // would only fetch that page.
                redirect: 'manual',
                headers: {
                    'Accept': 'application/json',
                    'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8',
                    'X-CSRFToken': csrfToken(),
                },
            });
        }

        // Autosave. "lastSent": the last body sent, whatever became of it (a 4xx is not
        // retried until the next change). "settled": the last body the server kept or
        // refused for good; anything else still has to reach it before the page goes away.
        let baseline = serialise();
        let lastSent = baseline;
        let settled = baseline;
        let autosaveTimer = null;
        let queue = Promise.resolve();

        function canAutosave() {
            return settings.canEdit && settings.autosaveUrl !== '' && !state.readOnly && !state.leaving && !state.offerOpen;
        }

        function showStatus(text, isError) {
            statusElement.textContent = text;
            statusElement.classList.toggle('autosave-error', isError);
        }

        function scheduleAutosave() {
            if (state.offerOpen && !state.offerNoticeShown && serialise() !== baseline) {
                state.offerNoticeShown = true;
                showStatus('Not kept yet: restore or discard your earlier unsaved changes (above) first, so that neither is lost.', true);
            }
            if (!canAutosave()) {
                return;
            }
            clearTimeout(autosaveTimer);
            autosaveTimer = setTimeout(() => {
                autosaveTimer = null;
                autosave();
            }, settings.autosaveDelayMs);
        }

        async function sendAutosave(retryUnsettled) {
            if (!canAutosave()) {
                return;
            }
            const body = serialise();
            if (body === lastSent && !(retryUnsettled && body !== settled)) {
                return;
            }
            lastSent = body;
            let result;
            try {
                result = await readResponse(await post(settings.autosaveUrl, body));
            } catch {
                result = {lost: true};
            }
            if (result.ok) {
                settled = body;
                state.keptChanges = true;
                showStatus(`Unsaved changes kept on the server at ${result.data.saved_at_display}.`, false);
            } else if (result.refused) {
                settled = body;
                showStatus(result.message, true);
            } else {
                showStatus(result.failed ? SERVER_PROBLEM : CONNECTION_LOST, true);
            }
        }

        function autosave({retryUnsettled = false} = {}) {
            clearTimeout(autosaveTimer);
            autosaveTimer = null;
            // One request at a time, in order; a failure must not stop the ones after it.
            queue = queue.then(() => sendAutosave(retryUnsettled)).catch(() => showStatus(CONNECTION_LOST, true));
            return queue;
        }

        function sendPendingChanges() {
            if (!canAutosave()) {
                return;
            }
            clearTimeout(autosaveTimer);
            autosaveTimer = null;
            const body = serialise();
            if (body === settled) {
                return;
            }
            if (body.length <= BEACON_LIMIT && navigator.sendBeacon(settings.autosaveUrl, new URLSearchParams(body))) {
                lastSent = body;
                settled = body;
                showStatus('Unsaved changes sent to the server.', false);
                return;
            }
            autosave({retryUnsettled: true});
        }

        function releaseLock() {
            if (!settings.releaseUrl || !state.holdsLock || state.leaving) {
                return;
            }
            state.holdsLock = false;
            navigator.sendBeacon(settings.releaseUrl, new URLSearchParams({
                holder_only: '1',
                csrfmiddlewaretoken: csrfToken(),
            }));
        }

        // CKEditor fields.
        const editors = [];

        function replaceValue(serialised, name, before, after) {
            const params = new URLSearchParams(serialised);
            if (params.get(name) !== before) {
                return serialised;
            }
            params.set(name, after);
            return params.toString();
        }

        function attachEditor(editor, textarea) {
            if (editors.includes(editor)) {
                return;
            }
            editors.push(editor);
            // The editor writes the stored HTML back with its own whitespace; take that as the
            // loaded value so that opening the page does not count as a change.
            const before = textarea.value;
            const after = editor.getData();
            if (textarea.name && before !== after) {
                textarea.value = after;
                baseline = replaceValue(baseline, textarea.name, before, after);
                lastSent = replaceValue(lastSent, textarea.name, before, after);
                settled = replaceValue(settled, textarea.name, before, after);
            }
            editor.model.document.on('change:data', scheduleAutosave);
            if (state.readOnly) {
                editor.enableReadOnlyMode(READ_ONLY_LOCK);
            }
        }

        function watchEditors(container) {
            for (const textarea of container.querySelectorAll('textarea.django_ckeditor_5')) {
                if (!textarea.id || textarea.id.includes('__prefix__')) {
                    continue;
                }
                const existing = window.editors && window.editors[textarea.id];
                if (existing) {
                    attachEditor(existing, textarea);
                } else if (typeof window.ckeditorRegisterCallback === 'function') {
                    window.ckeditorRegisterCallback(textarea.id, (editor) => attachEditor(editor, textarea));
                }
            }
        }

        // Read-only mode.
        function enterReadOnly() {
            state.readOnly = true;
            state.holdsLock = false;
            clearTimeout(autosaveTimer);
            autosaveTimer = null;
            form.classList.add('story-readonly');
            for (const field of form.querySelectorAll('input, select, textarea, button')) {
                // The editing panel's own buttons (take over, release, discard) stay usable;
                // CKEditor's toolbar follows its read-only mode.
                if (field.type === 'hidden' || root.contains(field) || field.closest('.ck-editor')) {
                    continue;
                }
                field.disabled = true;
            }
            for (const editor of editors) {
                editor.enableReadOnlyMode(READ_ONLY_LOCK);
            }
        }

        // Lock notice.
        let lockNoticeKey = null;
        // The server's own notice says the same as the first heartbeat; keep it.
        let keepServerNotice = state.readOnly && hasContent(lockNotice);

        function takeOverButton(label) {
            const button = document.createElement('button');
            button.type = 'submit';
            button.name = '_take_over';
            button.className = 'button';
            button.formAction = settings.takeOverUrl;
            button.formNoValidate = true;
            button.textContent = label;
            return button;
        }

        function renderLockNotice(heartbeat) {
            let kind;
            let text;
            let label;
            let name = '';
            if (heartbeat.lock === null || heartbeat.lock === undefined) {
                kind = 'free';
                text = 'Nobody is editing this story now.';
                label = 'Edit';
            } else if (heartbeat.holds_lock) {
                kind = 'own';
                text = 'You are editing this story in another window.';
                label = 'Edit here';
            } else if (heartbeat.taken_over) {
                const taken = heartbeat.taken_over;
                kind = 'taken';
                name = taken.by;
                text = `${taken.by} took over editing at ${taken.at_display}.`;
                if (state.keptChanges) {
                    text += ' Your unsaved changes are kept; you will be offered them when you edit again.';
                }
                label = 'Take it back';
            } else {
                kind = 'held';
                name = heartbeat.lock.holder;
                text = `${heartbeat.lock.holder} is editing this story${since(heartbeat.lock.since_display)}.`;
                label = 'Take over';
            }
            const key = `${kind}\n${text}`;
            if (keepServerNotice) {
                keepServerNotice = false;
                if (name && lockNotice.textContent.includes(name)) {
                    lockNoticeKey = key;
                    return;
                }
            }
            if (key === lockNoticeKey) {
                return;
            }
            lockNoticeKey = key;
            const children = [paragraph(text)];
            if (settings.takeOverUrl) {
                children.push(takeOverButton(label));
            }
            lockNotice.replaceChildren(...children);
            lockNotice.hidden = false;
        }

        function showLockError(text) {
            lockNotice.querySelector('.lock-error')?.remove();
            lockNotice.append(paragraph(text, 'lock-error'));
            lockNotice.hidden = false;
        }

        let plainPost = false;
        lockNotice.addEventListener('click', async (event) => {
            const button = event.target.closest('button[name="_take_over"]');
            if (!button || plainPost || !settings.takeOverUrl) {
                return;
            }
            event.preventDefault();
            button.disabled = true;
            let result;
            try {
                result = await readResponse(await post(settings.takeOverUrl, ''));
            } catch {
                result = {lost: true};
            }
            if (result.ok) {
                state.leaving = true;
                // A fresh GET: reload() would offer to resend a form post that showed errors.
                window.location.assign(window.location.href.split('#')[0]);
                return;
            }
            button.disabled = false;
            if (result.refused) {
                showLockError(result.message);
                return;
            }
            // Let the browser post the form: it copes with a lapsed session too.
            plainPost = true;
            form.requestSubmit(button);
        });

        // Presence and heartbeat.
        let presenceKey = Array.from(presence.querySelectorAll('p'), (line) => line.textContent.trim()).join('\n');

        function renderPresence(people) {
            const lines = people.map((person) => {
                const doing = person.holds_lock ? 'editing' : 'viewing';
                return `${person.name} is ${doing}${since(person.since_display)}.`;
            });
            const key = lines.join('\n');
            if (key === presenceKey) {
                return;
            }
            presenceKey = key;
            presence.replaceChildren(...lines.map((line) => paragraph(line)));
        }

        function showPresenceError(text) {
            const key = `error\n${text}`;
            if (key !== presenceKey) {
                presenceKey = key;
                presence.replaceChildren(paragraph(text, 'presence-error'));
            }
        }

        function noticeNewerVersion(heartbeat) {
            if (state.newerVersionShown || !heartbeat.modified_at || !settings.modifiedAt) {
                return;
            }
            if (sameInstant(heartbeat.modified_at, settings.modifiedAt)) {
                return;
            }
            state.newerVersionShown = true;
            const when = heartbeat.modified_at_display || clockTime(heartbeat.modified_at);
            const who = heartbeat.modified_by ? `${heartbeat.modified_by} saved a newer version` : 'A newer version was saved';
            const next = state.readOnly ? 'reload the page to see it' : 'saving will ask you to confirm';
            const notice = paragraph(`${who} at ${when}; ${next}.`, 'newer-version');
            notice.id = 'newer-version';
            notice.setAttribute('role', 'status');
            presence.after(notice);
        }

        async function applyHeartbeat(heartbeat) {
            renderPresence(heartbeat.editors || []);
            noticeNewerVersion(heartbeat);
            if (!settings.canEdit) {
                state.holdsLock = false;
                return;
            }
            if (!state.readOnly) {
                state.holdsLock = Boolean(heartbeat.holds_lock);
                if (state.holdsLock || (!heartbeat.taken_over && !heartbeat.lock)) {
                    return;
                }
                // Someone else has the lock now: keep what was typed before the form locks.
                await autosave({retryUnsettled: true});
                enterReadOnly();
            } else {
                state.holdsLock = false;
            }
            renderLockNotice(heartbeat);
        }

        let heartbeatTimer = null;
        let heartbeatRunning = false;

        async function heartbeat() {
            if (heartbeatRunning) {
                return;
            }
            clearTimeout(heartbeatTimer);
            heartbeatRunning = true;
            try {
                const editing = settings.canEdit && !state.readOnly ? '1' : '0';
                const result = await readResponse(await post(settings.heartbeatUrl, `editing=${editing}`));
                if (result.ok) {
                    await applyHeartbeat(result.data);
                } else if (result.refused) {
                    showPresenceError(result.message);
                } else {
                    showPresenceError('Could not reach the server: who else has this story open may be out of date.');
                }
            } catch {
                showPresenceError('Could not reach the server: who else has this story open may be out of date.');
            } finally {
                heartbeatRunning = false;
                heartbeatTimer = setTimeout(heartbeat, settings.heartbeatMs);
            }
            // Changes made by scripts without an event still reach the server.
            if (canAutosave() && autosaveTimer === null && serialise() !== lastSent) {
                scheduleAutosave();
            }
        }

        // Wiring.
        function onEdit(event) {
            // Typing after pressing a button whose submit never left the page.
            if (state.leaving && event.isTrusted && event.type === 'input') {
                state.leaving = false;
            }
            scheduleAutosave();
        }
        form.addEventListener('input', onEdit);
        form.addEventListener('change', onEdit);
        // select2 and the admin's lookup popups announce a choice with a jQuery event only.
        if (window.django && window.django.jQuery) {
            window.django.jQuery(form).on('change', scheduleAutosave);
        }
        form.addEventListener('formset:added', (event) => {
            watchEditors(event.target);
            if (state.readOnly) {
                enterReadOnly();
            }
            scheduleAutosave();
        });
        document.addEventListener('formset:removed', scheduleAutosave);

        root.addEventListener('click', (event) => {
            const link = event.target.closest('a[href]');
            const plainClick = event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey;
            // Restoring kept changes replaces this form on purpose: its edits are not kept.
            if (link && plainClick && !link.target && new URL(link.href).searchParams.has('restore')) {
                state.leaving = true;
            }
        });

        form.addEventListener('submit', (event) => {
            state.leaving = true;
            clearTimeout(autosaveTimer);
            autosaveTimer = null;
            // Another handler may still cancel the submit; then the page stays.
            setTimeout(() => {
                if (event.defaultPrevented) {
                    state.leaving = false;
                }
            }, 0);
        });

        document.addEventListener('visibilitychange', () => {
            if (document.visibilityState === 'hidden') {
                sendPendingChanges();
            } else if (settings.heartbeatUrl) {
                heartbeat();
            }
        });
        window.addEventListener('pagehide', () => {
            sendPendingChanges();
            releaseLock();
        });
        window.addEventListener('pageshow', (event) => {
            if (event.persisted) {
                // Back from the browser's page cache: the lock was released on the way out.
                state.leaving = false;
                plainPost = false;
                if (settings.heartbeatUrl) {
                    heartbeat();
                }
            }
        });

        // Deferred scripts run before DOMContentLoaded, when django-ckeditor-5 creates its editors.
        if (typeof window.ckeditorRegisterCallback === 'function' || document.readyState !== 'loading') {
            watchEditors(form);
        } else {
            document.addEventListener('DOMContentLoaded', () => watchEditors(form));
        }

        if (state.readOnly) {
            enterReadOnly();
        }
        if (settings.heartbeatUrl) {
            heartbeat();
        }
    }

    const root = document.getElementById('story-editing');
    const form = root && root.closest('form');
    if (form) {
        start(root, form);
    }
}
