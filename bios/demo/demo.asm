; demo.asm - Glassbox's built-in demo: a small program on a boot floppy.
;
; The image is a boot sector followed by the program, a whole number of
; 512-byte sectors.  Glassbox pads it to a 1.44 MB floppy and puts it in
; drive A:; its BIOS loads sector 1 to 0000:7C00 and jumps there.  The boot
; sector reads the remaining sectors with INT 13h AH=02h to 0000:8000 and
; starts the program, which
;
;   1. shows a banner in text mode 03h,
;   2. draws the Mandelbrot set in mode 13h (320x200, 256 colours) with
;      16-bit fixed-point integers (Q10: 1.0 = 1024),
;   3. runs a small command prompt (help, mandel, time, mem, colors, echo,
;      cls, exit), and
;   4. shuts the machine down after `exit` or after a minute without a key.
;
; It uses BIOS services only (INT 10h, 13h, 16h, 1Ah, 15h, 12h) plus two
; I/O ports: everything it prints also goes to the debug console (port
; E9h), and it ends the run by writing "Shutdown" to port 8900h.  8086
; instructions only, so it runs on every CPU model.
;
; Assemble: nasm -f bin -o demo.img demo.asm

bits 16
cpu 8086

PORT_DEBUG      equ 0xE9
PORT_SHUTDOWN   equ 0x8900

LOAD_SEG        equ 0x0000
LOAD_OFF        equ 0x8000              ; where the boot sector puts the program
SECTORS_PER_TRACK equ 18                ; 1.44 MB diskette
HEADS           equ 2

TICKS_PER_MIN   equ 1092                ; 18.2 timer ticks a second
BANNER_TICKS    equ 182                 ; 10 s
PICTURE_TICKS   equ 91                  ; 5 s

; Buffers in free conventional memory below the boot sector's stack.
PALETTE         equ 0x1000              ; 256 x (R, G, B), 768 bytes
LINE_BUF        equ 0x1400
LINE_MAX        equ 70

; ---------------------------------------------------------------------------
; Sector 1: the boot sector, at 0000:7C00.
; ---------------------------------------------------------------------------
section boot start=0 vstart=0x7C00

boot:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        jmp 0:.cs0                      ; some BIOSes enter at 07C0:0000
.cs0:   mov [boot_drive], dl
        mov si, boot_msg
        call boot_log
        mov bx, LOAD_OFF                ; ES:BX = the next sector's place
        mov cx, 0x0002                  ; cylinder 0, sector 2
        mov dh, 0                       ; head 0
        mov si, PROGRAM_SECTORS
.sector:
        mov di, 4                       ; attempts
.try:   mov ax, 0x0201                  ; read one sector
        mov dl, [boot_drive]
        int 0x13
        jnc .done
        mov ah, 0x00                    ; reset the drive and try again
        mov dl, [boot_drive]
        int 0x13
        dec di
        jnz .try
        mov si, boot_err
        call boot_log
.stop:  hlt
        jmp .stop
.done:  add bx, 512
        inc cl                          ; the next sector: CHS order
        cmp cl, SECTORS_PER_TRACK
        jbe .same
        mov cl, 1
        inc dh
        cmp dh, HEADS
        jb .same
        mov dh, 0
        inc ch
.same:  dec si
        jnz .sector
        mov dl, [boot_drive]
        jmp LOAD_SEG:LOAD_OFF

; boot_log: the NUL-terminated string at SI to the debug console.
boot_log:
        lodsb
        test al, al
        jz .e
        out PORT_DEBUG, al
        jmp boot_log
.e:     ret

boot_drive:     db 0
boot_msg:       db "demo boot sector: loading the program", 10, 0
boot_err:       db "demo boot sector: disk read error", 10, 0

        times 510-($-$$) db 0
        dw 0xAA55

; ---------------------------------------------------------------------------
; The program, at 0000:8000.
; ---------------------------------------------------------------------------
section program start=512 vstart=LOAD_OFF

program:
        xor ax, ax
        mov ds, ax
        mov es, ax
        cld
        sti
        mov [drive], dl
        call banner
        mov cx, BANNER_TICKS
        call pause                      ; a key or 10 s
        call mandelbrot_screen
        call text_mode
        mov si, prompt_intro
        call puts
prompt_loop:
        mov byte [attr], 0x0A
        mov si, prompt
        call puts
        mov byte [attr], 0x07
        call read_line
        call run_command
        jmp prompt_loop

; ---------------------------------------------------------------------------
; Output.  [attr] is the attribute (text modes) or the colour (mode 13h) of
; what `putc` writes; every character also goes to the debug console
; except carriage returns (the console needs line feeds only).
; ---------------------------------------------------------------------------

; putc: AL to the screen at the cursor and to the debug console.
putc:
        push ax
        push bx
        push cx
        cmp al, 13
        je .screen
        out PORT_DEBUG, al
        cmp al, 10
        jne .screen
        push ax                         ; a line feed starts a new line
        mov ax, 0x0E0D
        mov bx, 0
        int 0x10
        pop ax
.screen:
        mov bh, 0
        mov bl, [attr]
        cmp byte [graphics], 0
        jne .tty
        cmp al, ' '
        jb .tty
        mov ah, 0x09                    ; text: the character with its
        mov cx, 1                       ; attribute, then the teletype moves on
        int 0x10
.tty:   mov ah, 0x0E
        int 0x10
        pop cx
        pop bx
        pop ax
        ret

; puts: the NUL-terminated string at SI; SI ends after the NUL.
puts:   push ax
.l:     lodsb
        test al, al
        jz .e
        call putc
        jmp .l
.e:     pop ax
        ret

; log: the NUL-terminated string at SI to the debug console only.
log:    push ax
.l:     lodsb
        test al, al
        jz .e
        out PORT_DEBUG, al
        jmp .l
.e:     pop ax
        ret

newline:
        push ax
        mov al, 10
        call putc
        pop ax
        ret

; put_dec: AX as an unsigned decimal number.
put_dec:
        push ax
        push cx
        push dx
        push bx
        mov bx, 10
        xor cx, cx
.div:   xor dx, dx
        div bx
        push dx
        inc cx
        test ax, ax
        jnz .div
.out:   pop ax
        add al, '0'
        call putc
        loop .out
        pop bx
        pop dx
        pop cx
        pop ax
        ret

; put_hex2: AL as two hexadecimal digits.
put_hex2:
        push ax
        push cx
        push ax
        mov cl, 4
        shr al, cl
        call .digit
        pop ax
        and al, 0x0F
        call .digit
        pop cx
        pop ax
        ret
.digit: add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'A' - '0' - 10
.p:     jmp putc

; put_bcd: AL (packed BCD) as two digits.
put_bcd equ put_hex2

; set_cursor: row DH, column DL on page 0.
set_cursor:
        push ax
        push bx
        mov ah, 0x02
        mov bh, 0
        int 0x10
        pop bx
        pop ax
        ret

; text_mode: mode 03h, 16 background colours instead of blinking, a
; visible cursor.
text_mode:
        mov ax, 0x0003
        int 0x10
        mov ax, 0x1003                  ; attribute bit 7: bright background
        mov bl, 0
        int 0x10
        mov byte [graphics], 0
        mov byte [attr], 0x07
        ret

; ---------------------------------------------------------------------------
; 1. The banner.
; ---------------------------------------------------------------------------
BOX_TOP         equ 1
BOX_BOTTOM      equ 17
BOX_LEFT        equ 4
BOX_RIGHT       equ 75
BOX_ATTR        equ 0x1F                ; bright white on blue

banner:
        call text_mode
        mov ah, 0x01                    ; hide the cursor
        mov cx, 0x2000
        int 0x10
        mov ax, 0x0600                  ; the box: blue
        mov bh, BOX_ATTR
        mov cx, BOX_TOP * 256 + BOX_LEFT
        mov dx, BOX_BOTTOM * 256 + BOX_RIGHT
        int 0x10
        ; the frame, double lines (screen only)
        mov dx, BOX_TOP * 256 + BOX_LEFT
        mov al, 0xC9
        mov cx, 1
        call frame_run
        inc dl
        mov al, 0xCD
        mov cx, BOX_RIGHT - BOX_LEFT - 1
        call frame_run
        mov dl, BOX_RIGHT
        mov al, 0xBB
        mov cx, 1
        call frame_run
        mov dh, BOX_BOTTOM
        mov al, 0xBC
        call frame_run
        mov dl, BOX_LEFT
        mov al, 0xC8
        call frame_run
        inc dl
        mov al, 0xCD
        mov cx, BOX_RIGHT - BOX_LEFT - 1
        call frame_run
        mov dh, BOX_TOP + 1
        mov cx, 1
.side:  mov al, 0xBA
        mov dl, BOX_LEFT
        call frame_run
        mov dl, BOX_RIGHT
        call frame_run
        inc dh
        cmp dh, BOX_BOTTOM
        jb .side
        ; a shadow to the right and below
        mov dh, BOX_TOP + 1
.shade: mov dl, BOX_RIGHT + 1
        mov al, 0xB1
        mov bl, 0x08
        mov cx, 1
        call frame_run_attr
        inc dh
        cmp dh, BOX_BOTTOM
        jbe .shade
        mov dl, BOX_LEFT + 1
        mov cx, BOX_RIGHT - BOX_LEFT + 1
        call frame_run_attr
        ; the text lines: row, column, attribute, string
        mov si, log_banner
        call log
        mov si, banner_lines
.line:  lodsb
        cmp al, 0xFF
        je .done
        mov dh, al
        lodsb
        mov dl, al
        call set_cursor
        lodsb
        mov [attr], al
        call puts
        mov al, 10                      ; the line ends in the log only
        out PORT_DEBUG, al
        jmp .line
.done:  mov byte [attr], 0x07
        ret

; frame_run: CX copies of AL at row DH, column DL with the box attribute
; (screen only, the cursor does not move); frame_run_attr: with BL.
frame_run:
        mov bl, BOX_ATTR
frame_run_attr:
        push ax
        push bx
        call set_cursor
        mov ah, 0x09
        mov bh, 0
        int 0x10
        pop bx
        pop ax
        ret

; ---------------------------------------------------------------------------
; Waiting.
; ---------------------------------------------------------------------------

; ticks: AX = the low word of the BIOS tick count.
ticks:  push cx
        push dx
        mov ah, 0x00
        int 0x1A
        mov ax, dx
        pop dx
        pop cx
        ret

; wait_key: wait until a key is waiting, at most CX ticks; the key stays
; in the buffer.  CF clear and AX = the key (INT 16h AH=01h) if one came,
; CF set on timeout.  The CPU halts between timer interrupts.  Ticks are
; counted as they go by, so the count survives the wrap at midnight.
wait_key:
        push bx
        push dx
        call ticks
        mov bx, ax                      ; the last tick count seen
        xor dx, dx                      ; ticks gone by
.poll:  mov ah, 0x01
        int 0x16
        jnz .key
        call ticks
        sub ax, bx
        jz .same
        add bx, ax
        cmp ax, TICKS_PER_MIN           ; a jump (midnight): one tick
        jb .add
        mov ax, 1
.add:   add dx, ax
        cmp dx, cx
        jae .timeout
.same:  sti
        hlt                             ; until the next interrupt
        jmp .poll
.key:   clc
        jmp .e
.timeout:
        stc
.e:     pop dx
        pop bx
        ret

; pause: wait for a key, at most CX ticks.  Space, Enter and Esc are taken
; from the buffer; any other key stays there for the prompt (so keys typed
; ahead reach it).
pause:  call wait_key
        jc .e
        cmp al, ' '
        je .take
        cmp al, 13
        je .take
        cmp al, 27
        jne .e
.take:  mov ah, 0x00
        int 0x16
.e:     ret

; ---------------------------------------------------------------------------
; 2. The Mandelbrot set in mode 13h.
;
; The picture is 320 x 184 pixels, centred on y = 0, so that the two text
; lines at the bottom hold the caption.  A pixel is 10/1024 wide and 12/1024
; high (mode 13h pixels are taller than wide on a 4:3 screen): x from -2.25
; to 0.875, y from -1.07 to 1.07.  The set is symmetric about the real
; axis: each row computed is drawn twice, the top half downwards and its
; mirror image upwards.
; ---------------------------------------------------------------------------
ONE             equ 1024
PIC_W           equ 320
PIC_H           equ 184
X_STEP          equ 10
Y_STEP          equ 12
X_FIRST         equ -2304
Y_FIRST         equ -((PIC_H - 1) * Y_STEP / 2)
MAX_ITER        equ 96
INSIDE_COLOUR   equ 0                   ; black
CAPTION_COLOUR  equ 127                 ; below 80h: INT 10h takes bit 7 as XOR

mandelbrot_screen:
        mov ax, 0x0013
        int 0x10
        mov byte [graphics], 1
        call set_palette
        mov si, log_mandel
        call log
        push es
        mov ax, 0xA000
        mov es, ax
        mov word [cy], Y_FIRST
        xor di, di                      ; the top row's first pixel
        mov word [mirror], (PIC_H - 1) * PIC_W  ; row r: (PIC_H-1-2r) rows down
.row:   mov bp, X_FIRST
        mov word [col], PIC_W
.col:   call in_main_parts
        mov al, INSIDE_COLOUR
        jc .put
        call escape_time                ; BL = iterations
        mov al, INSIDE_COLOUR
        cmp bl, MAX_ITER
        jae .put
        mov al, bl
        inc al                          ; colours 1..MAX_ITER: escaped
.put:   stosb
        mov bx, di
        add bx, [mirror]
        mov [es:bx-1], al               ; the mirror image
        add bp, X_STEP
        dec word [col]
        jnz .col
        sub word [mirror], 2 * PIC_W
        add word [cy], Y_STEP
        cmp di, PIC_H / 2 * PIC_W
        jb .row
        pop es
        ; the caption, in the two text rows below the picture
        mov byte [attr], CAPTION_COLOUR
        mov dx, 23 * 256 + 1
        call set_cursor
        mov si, caption1
        call puts
        mov al, 10
        out PORT_DEBUG, al
        mov dx, 24 * 256 + 1
        call set_cursor
        mov si, caption2
        call puts
        mov al, 10                      ; the log gets its line end
        out PORT_DEBUG, al
        mov cx, PICTURE_TICKS
        call pause                      ; a key or 5 s
        ret

; escape_time: z = z^2 + c from z = 0 for c = (BP, [cy]) in Q10.  BL = the
; number of steps before |z| exceeded 2, or MAX_ITER (inside the set).
; SI = zx, DI = zy.  |zx| and |zy| stay <= 2.0 before they are squared, so
; every product fits IMUL's 32 bits and every Q10 value fits 16 bits.
escape_time:
        push di
        xor si, si
        xor di, di
        xor bx, bx
.step:  mov ax, si
        imul si                         ; zx^2, Q20
        mov cl, 10
        shr ax, cl
        mov cl, 6
        shl dx, cl
        or ax, dx
        mov [zx2], ax                   ; zx^2, Q10
        mov ax, di
        imul di
        mov cl, 10
        shr ax, cl
        mov cl, 6
        shl dx, cl
        or dx, ax                       ; DX = zy^2, Q10
        mov ax, [zx2]
        mov cx, ax
        add cx, dx
        cmp cx, 4 * ONE                 ; |z|^2 > 4: escaped
        ja .out
        sub ax, dx                      ; zx^2 - zy^2
        add ax, bp
        xchg ax, si                     ; zx' = zx^2 - zy^2 + cx
        imul di                         ; zx * zy, Q20
        mov cl, 9
        shr ax, cl
        mov cl, 7
        shl dx, cl
        or ax, dx                       ; 2 zx zy, Q10
        add ax, [cy]
        mov di, ax                      ; zy' = 2 zx zy + cy
        inc bx
        cmp bl, MAX_ITER
        jae .out
        mov ax, si                      ; |zx'| > 2 or |zy'| > 2: escaped
        add ax, 2 * ONE
        cmp ax, 4 * ONE
        ja .out
        mov ax, di
        add ax, 2 * ONE
        cmp ax, 4 * ONE
        jbe .step
.out:   pop di
        ret

; in_main_parts: CF set if c = (BP, [cy]) lies in the period-2 bulb,
; (x + 1)^2 + y^2 < 1/16, or in the main cardioid, q (q + p) < y^2 / 4
; with p = x - 1/4 and q = p^2 + y^2.  Those points never escape, and
; they are most of the set: testing them first saves nearly all the
; iterations the picture would need.  Changes AX, BX, CX, DX, SI.
in_main_parts:
        mov ax, [cy]
        imul ax
        mov [y2], ax                    ; y^2, Q20
        mov [y2+2], dx
        mov ax, bp
        add ax, ONE
        imul ax                         ; (x + 1)^2, Q20
        add ax, [y2]
        adc dx, [y2+2]
        test dx, dx                     ; below 10000h = 1/16 in Q20
        jz .inside
        mov si, bp
        sub si, ONE / 4                 ; SI = p
        mov ax, si
        imul si
        mov cl, 10
        shr ax, cl
        mov cl, 6
        shl dx, cl
        or ax, dx                       ; p^2, Q10
        mov bx, ax
        mov ax, [y2]
        mov dx, [y2+2]
        mov cl, 10
        shr ax, cl
        mov cl, 6
        shl dx, cl
        or ax, dx                       ; y^2, Q10
        add bx, ax                      ; BX = q
        lea ax, [bx+si]                 ; q + p
        imul bx                         ; q (q + p), Q20
        mov bx, [y2]
        mov cx, [y2+2]
        shr cx, 1                       ; CX:BX = y^2 / 4, Q20
        rcr bx, 1
        shr cx, 1
        rcr bx, 1
        cmp dx, cx                      ; signed 32-bit DX:AX < CX:BX
        jl .inside
        jg .outside
        cmp ax, bx
        jb .inside
.outside:
        clc
        ret
.inside:
        stc
        ret

; set_palette: colours 1..MAX_ITER run from deep blue through cyan and
; white to orange and dark red (four ramps of 24); 0 is black, 127 white.
; DAC values are 6 bits (0..63).  Loaded with INT 10h AX=1012h.
RAMP            equ 24
set_palette:
        push es
        mov di, PALETTE
        mov cx, 768
        xor al, al
        rep stosb
        mov di, PALETTE + 3             ; colour 1
        mov si, ramps
        mov dx, 4                       ; ramps
.ramp:  xor bx, bx                      ; BX = step 0..RAMP-1
.entry: push dx
        mov cx, 3
.chan:  lodsb                           ; start + (end - start) * step / RAMP
        mov [tmp], al
        lodsb
        sub al, [tmp]
        imul bl
        mov dl, RAMP
        idiv dl
        add al, [tmp]
        stosb
        loop .chan
        sub si, 6
        pop dx
        inc bx
        cmp bx, RAMP
        jb .entry
        add si, 6
        dec dx
        jnz .ramp
        mov di, PALETTE + CAPTION_COLOUR * 3
        mov al, 63
        stosb
        stosb
        stosb
        mov ax, 0x1012                  ; set DAC registers 0..255
        xor bx, bx
        mov cx, 256
        mov dx, PALETTE
        int 0x10
        pop es
        ret

; each ramp: R start, R end, G start, G end, B start, B end
ramps:  db 0, 0,   0, 24,   12, 63      ; navy to blue
        db 0, 40,  24, 63,  63, 63      ; blue to cyan and near white
        db 40, 63, 63, 40,  63, 8       ; to yellow
        db 63, 40, 40, 4,   8, 0        ; through orange to dark red

; ---------------------------------------------------------------------------
; 3. The prompt.
; ---------------------------------------------------------------------------

; read_line: a line into LINE_BUF (NUL-terminated), echoed; Backspace
; erases.  A minute without a key shuts the machine down.
read_line:
        mov di, LINE_BUF
.key:   mov cx, TICKS_PER_MIN
        call wait_key
        jc idle_timeout
        mov ah, 0x00
        int 0x16
        cmp al, 13
        je .enter
        cmp al, 8
        je .back
        cmp al, ' '
        jb .key
        cmp al, '~'
        ja .key
        cmp di, LINE_BUF + LINE_MAX
        jae .key
        stosb
        call putc
        jmp .key
.back:  cmp di, LINE_BUF
        je .key
        dec di
        call putc                       ; back, blank, back
        mov al, ' '
        call putc
        mov al, 8
        call putc
        jmp .key
.enter: mov byte [di], 0
        jmp newline

idle_timeout:
        call newline
        mov byte [attr], 0x0E
        mov si, msg_idle
        call puts
        jmp shutdown

; run_command: the line in LINE_BUF.  The first word (any case) picks a
; command from `commands`; its handler gets SI = the rest of the line.
run_command:
        mov si, LINE_BUF
        call skip_spaces
        cmp byte [si], 0
        je .e                           ; an empty line
        mov [word_start], si
        ; lower-case the word, find its end
.low:   mov al, [si]
        cmp al, ' '
        je .end
        test al, al
        jz .end
        cmp al, 'A'
        jb .n
        cmp al, 'Z'
        ja .n
        add al, 'a' - 'A'
        mov [si], al
.n:     inc si
        jmp .low
.end:   mov [word_end], si
        mov bx, commands
.find:  mov di, [bx]
        test di, di
        jz .unknown
        mov si, [word_start]
.cmp:   cmp si, [word_end]
        je .wend
        mov al, [si]
        cmp al, [di]
        jne .next
        inc si
        inc di
        jmp .cmp
.wend:  cmp byte [di], 0
        jne .next
        call skip_spaces
        call [bx+2]
.e:     ret
.next:  add bx, 4
        jmp .find
.unknown:
        mov byte [attr], 0x0C
        mov si, msg_unknown1
        call puts
        mov si, [word_start]
.uw:    cmp si, [word_end]
        je .uwe
        lodsb
        call putc
        jmp .uw
.uwe:   mov si, msg_unknown2
        call puts
        mov byte [attr], 0x07
        ret

skip_spaces:
        cmp byte [si], ' '
        jne .e
        inc si
        jmp skip_spaces
.e:     ret

commands:
        dw w_help, cmd_help
        dw w_mandel, cmd_mandel
        dw w_time, cmd_time
        dw w_mem, cmd_mem
        dw w_colors, cmd_colors
        dw w_colours, cmd_colors
        dw w_echo, cmd_echo
        dw w_cls, cmd_cls
        dw w_exit, cmd_exit
        dw w_quit, cmd_exit
        dw 0

w_help:         db "help", 0
w_mandel:       db "mandel", 0
w_time:         db "time", 0
w_mem:          db "mem", 0
w_colors:       db "colors", 0
w_colours:      db "colours", 0
w_echo:         db "echo", 0
w_cls:          db "cls", 0
w_exit:         db "exit", 0
w_quit:         db "quit", 0

cmd_help:
        mov si, help_text
        jmp puts

cmd_mandel:
        call mandelbrot_screen
        call text_mode
        mov si, msg_back
        jmp puts

cmd_cls:
        call text_mode
        ret

cmd_echo:
        call puts
        jmp newline

; time: the RTC's time and date (INT 1Ah AH=02h, 04h, in BCD) and the
; BIOS tick count (AH=00h).
cmd_time:
        mov ah, 0x02
        int 0x1A
        jc .bad
        mov si, msg_time
        call puts
        mov al, ch
        call put_bcd
        mov al, ':'
        call putc
        mov al, cl
        call put_bcd
        mov al, ':'
        call putc
        mov al, dh
        call put_bcd
        mov ah, 0x04
        int 0x1A
        jc .ticks
        mov si, msg_date
        call puts
        mov al, ch
        call put_bcd
        mov al, cl
        call put_bcd
        mov al, '-'
        call putc
        mov al, dh
        call put_bcd
        mov al, '-'
        call putc
        mov al, dl
        call put_bcd
.ticks: mov si, msg_ticks
        call puts
        call ticks
        call put_dec
        mov si, msg_ticks2
        jmp puts
.bad:   mov si, msg_nortc
        jmp puts

; mem: conventional memory (INT 12h) and memory above 1 MiB (INT 15h
; AH=88h, at most 63 MiB; older machines have none).
cmd_mem:
        mov si, msg_base
        call puts
        int 0x12
        call put_dec
        mov si, msg_kib12
        call puts
        mov ah, 0x88
        clc
        int 0x15
        jc .none
        test ax, ax
        jz .none
        mov si, msg_ext
        call puts
        call put_dec
        mov si, msg_kib15
        jmp puts
.none:  mov si, msg_noext
        jmp puts

; colors: the 256 text attributes, background by row and foreground by
; column, each cell showing its own value in hex.
cmd_colors:
        mov si, msg_colors
        call puts
        xor ax, ax                      ; AL = the attribute
.row:   mov byte [attr], 0x07
        push ax
        mov al, ' '
        call putc
        call putc
        pop ax
.cell:  mov [attr], al
        push ax
        mov al, ' '
        call putc
        pop ax
        call put_hex2
        inc al
        test al, 0x0F
        jnz .cell
        mov byte [attr], 0x07
        call newline
        test al, al
        jnz .row
        ret

cmd_exit:
        mov byte [attr], 0x0E
        mov si, msg_bye
        call puts
        ; fall through

; shutdown: "Shutdown" to port 8900h ends the run (exit status 0).
shutdown:
        mov si, shutdown_word
        mov dx, PORT_SHUTDOWN
.l:     lodsb
        test al, al
        jz .halt
        out dx, al
        jmp .l
.halt:  cli
        hlt
        jmp .halt

; ---------------------------------------------------------------------------
; Text.
; ---------------------------------------------------------------------------

; banner lines: row, column, attribute, text; 0xFF ends the list
banner_lines:
        db 2, 14, 0x1E, "G L A S S B O X  -  a see-through x86 PC emulator", 0
        db 4, 7, 0x1F, "This PC is emulated by Glassbox: an 8086-486 interpreter, our", 0
        db 5, 7, 0x1F, "own BIOS, VGA, keyboard, disks. Every character here was put", 0
        db 6, 7, 0x1F, "on the screen through INT 10h, the BIOS video service.", 0
        db 8, 7, 0x1B, "How you got here", 0
        db 9, 7, 0x17, "The BIOS tested the machine, read sector 1 of the floppy in", 0
        db 10, 7, 0x17, "drive A: to 0000:7C00 and jumped to it. That boot sector read", 0
        db 11, 7, 0x17, "the rest of this demo with INT 13h and started it.", 0
        db 13, 7, 0x1B, "What comes next", 0
        db 14, 7, 0x17, "The Mandelbrot set in VGA mode 13h: 320 x 200 in 256 colours,", 0
        db 15, 7, 0x17, "computed pixel by pixel by the guest CPU with 16-bit integers", 0
        db 16, 7, 0x17, "(IMUL and shifts, no floating point). Then a small prompt.", 0
        db 19, 5, 0x07, "Everything printed here also goes to the debug console (port E9h).", 0
        db 21, 5, 0x0E, "Press Space to draw the picture (or wait 10 seconds).", 0
        db 0xFF

log_banner:
        db 10, "=== Glassbox demo ===", 10, 0
log_mandel:
        db "[mode 13h: drawing the Mandelbrot set, 320x200, 256 colours]", 10, 0

; at column 1 of the last two rows: at most 38 characters, or the cursor
; would wrap and the teletype would scroll the picture up
caption1:       db "Mandelbrot set: 320x200, 256 colours", 0
caption2:       db "computed by the guest CPU. Space: next", 0

prompt_intro:
        db "Glassbox demo prompt. Type help for the commands, exit to leave.", 10, 0
prompt:         db "demo> ", 0

msg_back:       db "Back at the prompt. Type help for the commands.", 10, 0

help_text:
        db "Commands:", 10
        db "  help         this list", 10
        db "  mandel       the Mandelbrot set again (mode 13h)", 10
        db "  time         the real-time clock (INT 1Ah)", 10
        db "  mem          memory sizes (INT 12h, INT 15h)", 10
        db "  colors       the 256 text attributes", 10
        db "  echo TEXT    print TEXT", 10
        db "  cls          clear the screen", 10
        db "  exit         shut the machine down", 10
        db "With no key for a minute, the demo shuts down by itself.", 10, 0

msg_unknown1:   db "Unknown command: ", 0
msg_unknown2:   db ". Type help for the list.", 10, 0
msg_time:       db "RTC time ", 0
msg_date:       db ", date ", 0
msg_ticks:      db 10, "BIOS ticks since midnight: ", 0
msg_ticks2:     db " (18.2 a second)", 10, 0
msg_nortc:      db "The real-time clock is not running.", 10, 0
msg_base:       db "Conventional memory: ", 0
msg_kib12:      db " KiB (INT 12h)", 10, 0
msg_ext:        db "Extended memory: ", 0
msg_kib15:      db " KiB above 1 MiB (INT 15h AH=88h)", 10, 0
msg_noext:      db "No extended memory reported (INT 15h AH=88h).", 10, 0
msg_colors:     db "Text attributes: background = row, foreground = column", 10, 0
msg_idle:       db "No key for a minute: goodbye.", 10, 0
msg_bye:        db "Goodbye! Glassbox shuts the machine down now.", 10, 0
shutdown_word:  db "Shutdown", 0

; ---------------------------------------------------------------------------
; Variables.
; ---------------------------------------------------------------------------
drive:          db 0
attr:           db 0x07
graphics:       db 0
tmp:            db 0
cy:             dw 0
col:            dw 0
mirror:         dw 0
zx2:            dw 0
y2:             dw 0, 0
word_start:     dw 0
word_end:       dw 0

        times (512 - ($ - $$) % 512) % 512 db 0
program_end:

PROGRAM_SECTORS equ (program_end - program) / 512
