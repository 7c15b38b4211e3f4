# Builds the web UI (web/, npm + Vite) when it is out of date and turns
# web/dist into a C++ source with every file as a byte array and a
# path -> (content type, bytes) table (see src/ui/static_assets.h).
#
#   cmake -DWEB_DIR=... -DOUTPUT=... -DBUILD_UI=ON|OFF -P embed_assets.cmake
#
# The C++ build must not depend on Node.js being present: without npm, or
# when `npm ci` cannot reach the registry, the binary gets whatever web/dist
# holds, or else a page saying the UI assets are missing. A failing `npm run
# build` with dependencies installed is a bug in web/ and fails the build.

set(dist "${WEB_DIR}/dist")

function(ui_sources out)
  file(GLOB_RECURSE files "${WEB_DIR}/src/*" "${WEB_DIR}/public/*")
  list(APPEND files "${WEB_DIR}/index.html" "${WEB_DIR}/vite.config.ts"
       "${WEB_DIR}/tsconfig.json" "${WEB_DIR}/package.json" "${WEB_DIR}/package-lock.json")
  set(${out} ${files} PARENT_SCOPE)
endfunction()

if(BUILD_UI)
  find_program(NPM npm)
  find_program(NODE node)
  if(NOT NPM OR NOT NODE)
    message(WARNING "loupe UI: node/npm not found; the binary will serve "
                    "${dist} if present, else a page saying the UI is missing")
  else()
    # npm ci only when the lock file changed since the last install.
    file(SHA256 "${WEB_DIR}/package-lock.json" lock_hash)
    set(stamp "${WEB_DIR}/node_modules/.loupe-stamp")
    set(have_hash "")
    if(EXISTS "${stamp}")
      file(READ "${stamp}" have_hash)
    endif()
    set(deps_ok TRUE)
    if(NOT have_hash STREQUAL lock_hash)
      message(STATUS "loupe UI: npm ci in ${WEB_DIR}")
      execute_process(COMMAND "${NPM}" ci --no-audit --no-fund --loglevel=error
                      WORKING_DIRECTORY "${WEB_DIR}" RESULT_VARIABLE rc)
      if(rc EQUAL 0)
        file(WRITE "${stamp}" "${lock_hash}")
      else()
        set(deps_ok FALSE)
        message(WARNING "loupe UI: npm ci failed (${rc}); embedding the previous build, if any")
      endif()
    endif()
    if(deps_ok)
      ui_sources(sources)
      set(stale FALSE)
      if(NOT EXISTS "${dist}/index.html")
        set(stale TRUE)
      else()
        foreach(f IN LISTS sources)
          if(EXISTS "${f}" AND "${f}" IS_NEWER_THAN "${dist}/index.html")
            set(stale TRUE)
            break()
          endif()
        endforeach()
      endif()
      if(stale)
        message(STATUS "loupe UI: npm run build")
        execute_process(COMMAND "${NPM}" run build --silent WORKING_DIRECTORY "${WEB_DIR}"
                        RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
          message(FATAL_ERROR "loupe UI: `npm run build` failed in ${WEB_DIR}")
        endif()
      endif()
    endif()
  endif()
endif()

function(content_type path out)
  get_filename_component(ext "${path}" LAST_EXT)
  string(TOLOWER "${ext}" ext)
  set(type "application/octet-stream")
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".js" OR ext STREQUAL ".mjs")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(ext STREQUAL ".txt")
    set(type "text/plain; charset=utf-8")
  elseif(ext STREQUAL ".json")
    set(type "application/json")
  elseif(ext STREQUAL ".svg")
    set(type "image/svg+xml")
  elseif(ext STREQUAL ".png")
    set(type "image/png")
  elseif(ext STREQUAL ".ico")
    set(type "image/x-icon")
  elseif(ext STREQUAL ".webp")
    set(type "image/webp")
  elseif(ext STREQUAL ".woff2")
    set(type "font/woff2")
  endif()
  set(${out} "${type}" PARENT_SCOPE)
endfunction()

set(arrays "")
set(table "")
set(count 0)
set(built "true")
if(EXISTS "${dist}/index.html")
  file(GLOB_RECURSE files RELATIVE "${dist}" "${dist}/*")
  list(SORT files)
  foreach(rel IN LISTS files)
    if(rel MATCHES "\\.map$" OR rel MATCHES "^\\.")
      continue()
    endif()
    file(READ "${dist}/${rel}" hex HEX)
    string(LENGTH "${hex}" hex_len)
    math(EXPR len "${hex_len} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    content_type("${rel}" type)
    string(APPEND arrays "static const unsigned char kAsset${count}[] = {${bytes}0x00};\n")
    string(APPEND table "    {\"/${rel}\", \"${type}\", "
                        "std::string_view(reinterpret_cast<const char*>(kAsset${count}), ${len})},\n")
    math(EXPR count "${count} + 1")
  endforeach()
else()
  set(built "false")
  string(CONCAT page "<!doctype html><html><head><meta charset=\"utf-8\"><title>Loupe</title></head>"
           "<body><h1>Loupe</h1><p>The web UI assets are missing from this build: Node.js "
           "and npm were not available, or <code>npm ci</code> in web/ failed, when it was "
           "compiled. Install Node.js and npm and rebuild (<code>make build</code>). The API "
           "under /api/public works as usual.</p></body></html>")
  string(REPLACE "\"" "\\\"" page "${page}")
  string(APPEND arrays "static const char kFallbackPage[] = \"${page}\";\n")
  string(APPEND table "    {\"/index.html\", \"text/html; charset=utf-8\", "
                      "std::string_view(kFallbackPage, sizeof(kFallbackPage) - 1)},\n")
  set(count 1)
  message(WARNING "loupe UI: ${dist}/index.html not found; embedding the 'UI assets are missing' page")
endif()

file(WRITE "${OUTPUT}.tmp"
     "// Generated by src/ui/embed_assets.cmake from web/dist; do not edit.\n"
     "#include \"ui/static_assets.h\"\n\nnamespace loupe {\nnamespace {\n${arrays}}  // namespace\n\n"
     "const UiAsset kUiAssets[] = {\n${table}};\n"
     "const size_t kUiAssetCount = ${count};\n"
     "const bool kUiAssetsBuilt = ${built};\n\n}  // namespace loupe\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
