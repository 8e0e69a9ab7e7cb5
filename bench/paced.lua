-- Each connection sends one request every 20 ms: 50 connections make about 2,500 requests/s, a
-- surge of 1,000 shoppers each loading a page every 0.4 s, without saturating the machine.
function delay()
    return 20
end
